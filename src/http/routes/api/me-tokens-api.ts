// /api/v1/me/tokens: a user's own personal access tokens as JSON, for tools that manage them. Authenticated with an
// access token Gatehouse issued with scope `tokens`; creating one needs that token's sign-in to be fresh (15
// minutes) and strong enough for the user's 2FA rules, exactly as on the account page.
import { bearerToken } from '../../bearer.ts';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import type { PersonalTokenService, Provenance } from '../../../domain/tokens/personal-token.service.ts';
import type { UserService } from '../../../domain/users/user.service.ts';
import { storedId } from '../../../oidc/payload-rows.ts';
import type { TokenVerifier } from '../../../oidc/token-verifier.ts';
import { UUID_PATTERN } from '../admin/rules.ts';
import { tokenJson } from './admin-tokens-api.ts';

export const TOKENS_SCOPE = 'tokens';

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'scopes'],
  properties: {
    name: { type: 'string', maxLength: 100 },
    scopes: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 32 } },
    tenant: { type: ['string', 'null'], maxLength: 100 },
    expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 },
  },
} as const;

const fail = (reply: FastifyReply, status: number, error: string, message: string) => reply.status(status).header('cache-control', 'no-store').send({ error, message });

export default async function meTokensApi(app: FastifyInstance, deps: { verifyToken: TokenVerifier; users: UserService; personalTokens: PersonalTokenService }) {
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof DomainError) return fail(reply, err.httpStatus, err.code, err.message);
    if (err.validation || (err.statusCode && err.statusCode < 500)) return fail(reply, err.statusCode ?? 400, 'invalid_request', err.message);
    throw err;
  });
  app.decorateRequest('meToken', null);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const presented = bearerToken(req.headers.authorization);
    const token = presented ? await deps.verifyToken(presented) : null;
    const user = token ? await deps.users.findById(token.accountId) : null;
    if (!token || !user) {
      reply.header('www-authenticate', 'Bearer realm="gatehouse", error="invalid_token"');
      return fail(reply, 401, 'invalid_token', 'Send a valid access token: Authorization: Bearer <token>.');
    }
    // minting long-lived tokens is for the user's own tools, never for a third-party app they once consented to
    if (!token.firstParty) return fail(reply, 403, 'unauthorized_client', 'Personal access tokens are managed only through first-party clients.');
    if (!token.scopes.has(TOKENS_SCOPE)) {
      reply.header('www-authenticate', `Bearer realm="gatehouse", error="insufficient_scope", scope="${TOKENS_SCOPE}"`);
      return fail(reply, 403, 'insufficient_scope', `The access token lacks the "${TOKENS_SCOPE}" scope.`);
    }
    (req as unknown as { meToken: unknown }).meToken = { user, from: { amr: token.amr, acr: token.acr, authTime: token.authTime, source: { model: 'AccessToken', id: storedId('AccessToken', presented!) } } };
  });
  const who = (req: unknown) => (req as { meToken: { user: Awaited<ReturnType<UserService['findById']>> & object; from: Provenance } }).meToken;

  app.get('/me/tokens', async (req) => ({ tokens: (await deps.personalTokens.list(who(req).user.id)).map(tokenJson) }));

  app.post<{ Body: { name: string; scopes: string[]; tenant?: string | null; expiresInDays?: number } }>('/me/tokens', { schema: { body: createBody } }, async (req, reply) => {
    const { user, from } = who(req);
    const { token, personalToken } = await deps.personalTokens.create(user, from, { name: req.body.name, scopes: req.body.scopes, tenantSlug: req.body.tenant ?? null, days: req.body.expiresInDays ?? null }, { ip: req.ip, userAgent: req.headers['user-agent'] });
    // the value is in this answer and nowhere else, ever
    return reply.status(201).send({ ...tokenJson(personalToken), token });
  });

  app.delete<{ Params: { id: string } }>('/me/tokens/:id', { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: UUID_PATTERN } } } } }, async (req, reply) => {
    const { user } = who(req);
    await deps.personalTokens.revoke(user, req.params.id, { userId: user.id }, { ip: req.ip, userAgent: req.headers['user-agent'] });
    return reply.status(204).send();
  });
}
