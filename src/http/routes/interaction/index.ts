import type { FastifyInstance } from 'fastify';
import { consentLabels } from '../../../oidc/interactions.ts';
import { page, proceed, type InteractionDeps } from './deps.ts';
import { uidParams, type UidParams } from './schemas.ts';

/** GET /interaction/:uid: shows the step the provider is asking for, or the step this sign-in has reached. */
export default async function interactionIndex(app: FastifyInstance, deps: InteractionDeps) {
  app.get<{ Params: UidParams }>('/interaction/:uid', { schema: { params: uidParams } }, async (req, reply) => {
    const { uid } = req.params;
    const view = await deps.interactions.view(req.raw, reply.raw, uid);
    const csrfToken = reply.generateCsrf();
    if (view.prompt === 'consent') {
      const user = view.accountId ? await deps.users.findById(view.accountId) : null;
      return page(
        reply,
        deps.render('interaction/consent.njk', {
          uid,
          csrfToken,
          clientName: view.clientName,
          email: user?.email ?? '',
          scopes: consentLabels(view),
        }),
      );
    }
    // the step this sign-in reached, read with the page's doors (the app's allowed methods, the upstream buttons)
    const { step, ...doors } = deps.federation ? await deps.federation.doorsAndStep(view.clientId, uid) : { step: await deps.flow.step(uid) };
    if (step) return proceed(deps, req, reply, uid, { outcome: 'next', step });
    // a step-up over an existing session: the account is known, the sign-in is redone in full
    const known = view.accountId ? await deps.users.findById(view.accountId) : null;
    return page(
      reply,
      deps.render('interaction/login.njk', {
        uid,
        csrfToken,
        clientId: view.clientId,
        clientName: view.clientName,
        email: view.loginHint ?? known?.email ?? '',
        stepUp: Boolean(known && view.mfaRequired),
        signupEnabled: deps.signupEnabled,
        // the app's organization may allow only some methods: the password form and the upstream buttons it allows
        ...doors,
      }),
    );
  });
}
