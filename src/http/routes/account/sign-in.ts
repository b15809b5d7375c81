import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ACCOUNT_CLIENT_ID } from '../../../domain/clients/client.service.ts';
import { cookieNames } from '../../../config/cookie-names.ts';
import type { AccountDeps } from './deps.ts';


/**
 * The account pages sign people in like any app does: an authorization request (PKCE) to Gatehouse itself, so the
 * same sign-in, 2FA and session rules apply. The page then reads the session cookie that sign-in left.
 */
export default async function accountSignIn(app: FastifyInstance, deps: AccountDeps) {
  const STATE_COOKIE = cookieNames(deps.secure).accountState;
  // ?fresh=1: a new sign-in even over a live session (prompt=login), before making something sensitive such as a
  // personal access token; ?return=tokens comes back to that page
  app.get<{ Querystring: { fresh?: string; return?: string } }>(
    '/account/sign-in',
    { schema: { querystring: { type: 'object', properties: { fresh: { type: 'string', maxLength: 4 }, return: { type: 'string', enum: ['tokens'] } } } } },
    async (req, reply) => {
    const state = `${randomBytes(16).toString('base64url')}${req.query.return === 'tokens' ? '.tokens' : ''}`;
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    reply.setCookie(STATE_COOKIE, state, { path: '/account', httpOnly: true, sameSite: 'lax', secure: deps.secure, signed: true, maxAge: 600 });
    const url = new URL('/oidc/auth', deps.issuer);
    url.search = new URLSearchParams({
      client_id: ACCOUNT_CLIENT_ID,
      redirect_uri: `${deps.issuer}/account/callback`,
      response_type: 'code',
      scope: 'openid',
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...(req.query.fresh ? { prompt: 'login' } : {}),
    }).toString();
    return reply.redirect(url.toString(), 303);
    },
  );

  app.get<{ Querystring: { state?: string; error?: string } }>(
    '/account/callback',
    { schema: { querystring: { type: 'object', properties: { state: { type: 'string', maxLength: 128 }, error: { type: 'string', maxLength: 64 } } } } },
    async (req, reply) => {
      const cookie = req.cookies[STATE_COOKIE];
      const unsigned = cookie ? req.unsignCookie(cookie) : undefined;
      reply.clearCookie(STATE_COOKIE, { path: '/account' });
      if (req.query.error || !unsigned?.valid || unsigned.value !== req.query.state) return reply.redirect('/', 303);
      return reply.redirect(unsigned.value.endsWith('.tokens') ? '/account/tokens' : '/account', 303);
    },
  );
}
