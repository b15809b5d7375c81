import type { FastifyInstance } from 'fastify';
import type { Refusal } from '../../../domain/federation/federation.service.ts';
import { meta, page, proceed, type InteractionDeps } from './deps.ts';
import { csrfOnlyBody, uidParams, type UidParams } from './schemas.ts';

/** the upstream's answer: only the parameters an authorization response carries, each bounded */
const callbackQuery = {
  type: 'object',
  properties: {
    code: { type: 'string', maxLength: 2048 },
    state: { type: 'string', maxLength: 256 },
    iss: { type: 'string', maxLength: 2048 },
    error: { type: 'string', maxLength: 256 },
    error_description: { type: 'string', maxLength: 1024 },
    error_uri: { type: 'string', maxLength: 2048 },
    scope: { type: 'string', maxLength: 2048 },
    session_state: { type: 'string', maxLength: 512 },
    authuser: { type: 'string', maxLength: 64 },
    prompt: { type: 'string', maxLength: 64 },
    hd: { type: 'string', maxLength: 256 },
  },
  additionalProperties: false,
} as const;
type CallbackQuery = Record<string, string | undefined>;

const nameParams = {
  type: 'object',
  required: ['uid', 'name'],
  properties: { ...uidParams.properties, name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$' } },
} as const;

/** a refusal: what happened, in words, and the way back to the sign-in page */
export function refusal(deps: InteractionDeps, reply: import('fastify').FastifyReply, r: Refusal, uid: string | null) {
  return page(reply, deps.render('interaction/federated-error.njk', { title: r.title, message: r.message, uid }), r.status);
}

/**
 * Sign-in through an upstream OpenID provider: POST /interaction/:uid/federated/:name sends the browser to the upstream;
 * the upstream answers at the one registered redirect URI, /federation/callback, which forwards the answer to
 * /interaction/:uid/federated/callback (where the interaction cookie is) for verification and the sign-in steps.
 */
export default async function interactionFederated(app: FastifyInstance, deps: InteractionDeps) {
  const federation = deps.federation!;

  app.post<{ Params: UidParams & { name: string } }>(
    '/interaction/:uid/federated/:name',
    { schema: { params: nameParams, body: csrfOnlyBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid, name } = req.params;
      const view = await deps.interactions.view(req.raw, reply.raw, uid);
      const r = await federation.start(uid, name, meta(req), { clientId: view.clientId, acrValues: view.acrValues, essentialAcrs: view.essentialAcrs });
      return r.kind === 'redirect' ? reply.redirect(r.url, 303) : refusal(deps, reply, r, uid);
    },
  );

  app.get<{ Querystring: CallbackQuery }>('/federation/callback', { schema: { querystring: callbackQuery } }, async (req, reply) => {
    const uid = await federation.interactionOf(req.query.state ?? '');
    if (!uid) {
      return refusal(deps, reply, { kind: 'refused', status: 400, title: 'Sign-in not recognised', message: 'This answer does not belong to a sign-in in progress: it was already used, has expired, or was not started here. Return to the app and start again.' }, null);
    }
    const query = new URLSearchParams(Object.entries(req.query).filter((e): e is [string, string] => typeof e[1] === 'string'));
    return reply.redirect(`/interaction/${uid}/federated/callback?${query}`, 303);
  });

  app.get<{ Params: UidParams; Querystring: CallbackQuery }>(
    '/interaction/:uid/federated/callback',
    { schema: { params: uidParams, querystring: callbackQuery } },
    async (req, reply) => {
      const { uid } = req.params;
      const view = await deps.interactions.view(req.raw, reply.raw, uid);
      const params = new URLSearchParams(Object.entries(req.query).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const r = await federation.callback(uid, params, meta(req), { clientId: view.clientId, acrValues: view.acrValues, essentialAcrs: view.essentialAcrs });
      if (r.kind === 'refused') return refusal(deps, reply, r, uid);
      if (r.kind === 'link') return reply.redirect(`/interaction/${uid}/federated/link`, 303);
      return proceed(deps, req, reply, uid, r.result);
    },
  );
}
