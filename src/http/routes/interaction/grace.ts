import type { FastifyInstance } from 'fastify';
import { page, proceed, type InteractionDeps } from './deps.ts';
import { uidParams, type UidParams } from './schemas.ts';

const body = { type: 'object', required: ['choice'], properties: { _csrf: { type: 'string' }, choice: { type: 'string', enum: ['setup', 'later'] } } } as const;

/** GET/POST /interaction/:uid/grace: during a 2FA rollout, the deadline and "Set up now" or "Remind me later". */
export default async function interactionGrace(app: FastifyInstance, deps: InteractionDeps) {
  app.get<{ Params: UidParams }>('/interaction/:uid/grace', { schema: { params: uidParams } }, async (req, reply) => {
    const { uid } = req.params;
    const view = await deps.interactions.view(req.raw, reply.raw, uid);
    const grace = await deps.flow.graceDeadline(uid);
    if (!grace) return reply.redirect(`/interaction/${uid}`, 303);
    return page(reply, deps.render('interaction/grace.njk', { uid, csrfToken: reply.generateCsrf(), clientName: view.clientName, deadline: grace.until.toISOString().slice(0, 10), organizations: grace.organizations }));
  });

  app.post<{ Params: UidParams; Body: { choice: 'setup' | 'later' } }>(
    '/interaction/:uid/grace',
    { schema: { params: uidParams, body }, preValidation: app.csrfProtection },
    async (req, reply) => {
      await deps.interactions.view(req.raw, reply.raw, req.params.uid);
      return proceed(deps, req, reply, req.params.uid, await deps.flow.grace(req.params.uid, req.body.choice));
    },
  );
}
