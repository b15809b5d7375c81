import type { FastifyInstance } from 'fastify';
import { meta, page, proceed, type InteractionDeps } from './deps.ts';
import { refusal } from './federated.ts';
import { uidParams, type UidParams } from './schemas.ts';
import { translate } from '../../locale.ts';

const linkBody = {
  type: 'object',
  required: ['password'],
  properties: { _csrf: { type: 'string', maxLength: 256 }, username: { type: 'string', maxLength: 320 }, password: { type: 'string', maxLength: 4096 } },
} as const;

const expired = { kind: 'refused', status: 400, title: 'Link expired', message: 'This link request has expired or its account changed. Go back and sign in again.' } as const;

/**
 * The upstream's verified address belongs to an existing account: never linked silently. The account's owner signs in
 * to it here (its password, then its second factor as in any sign-in); the link is made when that sign-in completes.
 */
export default async function interactionFederatedLink(app: FastifyInstance, deps: InteractionDeps) {
  const federation = deps.federation!;
  const render = (uid: string, csrfToken: string, pending: { email: string; displayName: string }, error?: string) =>
    deps.render('interaction/federated-link.njk', { uid, csrfToken, email: pending.email, providerName: pending.displayName, error });

  app.get<{ Params: UidParams }>('/interaction/:uid/federated/link', { schema: { params: uidParams } }, async (req, reply) => {
    const { uid } = req.params;
    await deps.interactions.view(req.raw, reply.raw, uid);
    const pending = await federation.pendingLink(uid);
    if (!pending) return refusal(deps, reply, expired, uid);
    return page(reply, render(uid, reply.generateCsrf(), pending));
  });

  app.post<{ Params: UidParams; Body: { password: string } }>(
    '/interaction/:uid/federated/link',
    { schema: { params: uidParams, body: linkBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      const view = await deps.interactions.view(req.raw, reply.raw, uid);
      const pending = await federation.pendingLink(uid);
      const result = pending ? await federation.linkWithPassword(uid, req.body.password, meta(req), { clientId: view.clientId, acrValues: view.acrValues, essentialAcrs: view.essentialAcrs }) : null;
      if (!pending || !result) return refusal(deps, reply, expired, uid);
      if (result.outcome === 'invalid' || result.outcome === 'throttled') {
        const throttled = result.outcome === 'throttled';
        return page(reply, render(uid, reply.generateCsrf(), pending, throttled ? translate('codes.throttled') : translate('pages.incorrectPassword')), throttled ? 429 : 401);
      }
      return proceed(deps, req, reply, uid, result);
    },
  );
}
