import type { FastifyInstance } from 'fastify';
import { meta, page, proceed, type InteractionDeps } from './deps.ts';
import { csrfOnlyBody, responseBody, uidParams, type ResponseBody, type UidParams } from './schemas.ts';
import { translate } from '../../locale.ts';

/** the catalogue keys of a refused passkey's messages */
const MESSAGES = {
  invalid: 'pages.passkeyInvalid',
  one_factor: 'pages.passkeyOneFactor',
} as const;

/**
 * POST /interaction/:uid/passkey: sign in with a passkey, no password (the sign-in page's "Use a passkey" button and
 * its autofill). POST …/passkey/options: the challenge, bound to this interaction. Errors return to the sign-in page.
 */
export default async function interactionPasskey(app: FastifyInstance, deps: InteractionDeps) {
  app.post<{ Params: UidParams }>(
    '/interaction/:uid/passkey/options',
    { schema: { params: uidParams, body: csrfOnlyBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const view = await deps.interactions.view(req.raw, reply.raw, req.params.uid);
      if (view.prompt !== 'login') return reply.status(400).header('cache-control', 'no-store').send({ error: 'interaction_expired', message: translate('pages.movedOn') });
      return reply.header('cache-control', 'no-store').send({ options: await deps.flow.passkeyOptions(req.params.uid) });
    },
  );

  app.post<{ Params: UidParams; Body: ResponseBody }>(
    '/interaction/:uid/passkey',
    { schema: { params: uidParams, body: responseBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      const view = await deps.interactions.view(req.raw, reply.raw, uid);
      const result = await deps.flow.passkey(uid, req.body.response, meta(req), { clientId: view.clientId, acrValues: view.acrValues, essentialAcrs: view.essentialAcrs });
      app.metrics.loginOutcomes.inc({ outcome: `passkey_${result.outcome}` });
      if (result.outcome === 'invalid' || result.outcome === 'one_factor') {
        const html = deps.render('interaction/login.njk', { uid, csrfToken: reply.generateCsrf(), clientId: view.clientId, clientName: view.clientName, email: view.loginHint ?? '', signupEnabled: deps.signupEnabled, error: translate(MESSAGES[result.outcome]) });
        return page(reply, html, 401);
      }
      return proceed(deps, req, reply, uid, result);
    },
  );
}
