import type { FastifyInstance } from 'fastify';
import type { InteractionDeps } from './deps.ts';
import { loginBody, uidParams, type UidParams } from './schemas.ts';

/** POST /interaction/:uid/login: email + password. */
export default async function interactionLogin(app: FastifyInstance, deps: InteractionDeps) {
  app.post<{ Params: UidParams; Body: { email: string; password: string } }>(
    '/interaction/:uid/login',
    { schema: { params: uidParams, body: loginBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      const view = await deps.interactions.view(req.raw, reply.raw, uid);
      const user = await deps.users.authenticate(req.body.email, req.body.password, {
        ip: req.ip,
        userAgent: req.headers['user-agent'],
        clientId: view.clientId,
      });
      app.metrics.loginOutcomes.inc({ outcome: user ? 'password_ok' : 'password_failed' });
      if (!user) {
        // the same answer for an unknown email and a wrong password
        return reply
          .status(401)
          .type('text/html')
          .header('cache-control', 'no-store')
          .send(
            deps.render('interaction/login.njk', {
              uid,
              csrfToken: reply.generateCsrf(),
              clientName: view.clientName,
              email: req.body.email,
              error: 'Incorrect email or password.',
            }),
          );
      }
      const next = await deps.interactions.finishLogin(req.raw, reply.raw, uid, user.id, ['pwd'], deps.clock.now());
      return reply.redirect(next, 303);
    },
  );
}
