import type { FastifyInstance } from 'fastify';
import { scopeLabels } from '../../../oidc/interactions.ts';
import type { InteractionDeps } from './deps.ts';
import { uidParams, type UidParams } from './schemas.ts';

/** GET /interaction/:uid: shows the step the provider is asking for. */
export default async function interactionIndex(app: FastifyInstance, deps: InteractionDeps) {
  app.get<{ Params: UidParams }>('/interaction/:uid', { schema: { params: uidParams } }, async (req, reply) => {
    const view = await deps.interactions.view(req.raw, reply.raw, req.params.uid);
    const csrfToken = reply.generateCsrf();
    reply.header('cache-control', 'no-store').type('text/html');
    if (view.prompt === 'consent') {
      const user = view.accountId ? await deps.users.findById(undefined, view.accountId) : null;
      return deps.render('interaction/consent.njk', {
        uid: view.uid,
        csrfToken,
        clientName: view.clientName,
        email: user?.email ?? '',
        scopes: scopeLabels(view.missingScopes.length ? view.missingScopes : ['openid']),
      });
    }
    return deps.render('interaction/login.njk', { uid: view.uid, csrfToken, clientName: view.clientName, email: view.loginHint ?? '' });
  });
}
