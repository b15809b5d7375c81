import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ACCOUNT_CLIENT_ID } from '../../../domain/clients/client.service.ts';
import { cookieNames } from '../../../config/cookie-names.ts';
import { safeReturnPath } from '../../../domain/navigation/return-path.ts';
import type { AccountDeps } from './deps.ts';


/**
 * The account pages sign people in like any app does: an authorization request (PKCE) to Gatehouse itself, so the
 * same sign-in, 2FA and session rules apply. The page then reads the session cookie that sign-in left.
 */
export default async function accountSignIn(app: FastifyInstance, deps: AccountDeps) {
  const STATE_COOKIE = cookieNames(deps.secure).accountState;
  // ?fresh=1: a new sign-in even over a live session (prompt=login), before making something sensitive such as a
  // personal access token; ?return=<path> comes back to that page of ours (a deep link that met a signed-out
  // browser), `tokens` being the short name of /account/tokens. A return path that is not a same-origin path is
  // ignored (the account page instead), never an error: the link may be old or hand-made.
  app.get<{ Querystring: { fresh?: string; return?: string } }>(
    '/account/sign-in',
    { schema: { querystring: { type: 'object', properties: { fresh: { type: 'string', maxLength: 4 }, return: { type: 'string', maxLength: 1024 } } } } },
    async (req, reply) => {
    const state = randomBytes(16).toString('base64url');
    const back = req.query.return === 'tokens' ? '/account/tokens' : safeReturnPath(req.query.return);
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    // the return path rides in the signed state cookie, not in the authorization request: the provider never sees it
    const cookie = back ? `${state}.${Buffer.from(back).toString('base64url')}` : state;
    reply.setCookie(STATE_COOKIE, cookie, { path: '/account', httpOnly: true, sameSite: 'lax', secure: deps.secure, signed: true, maxAge: 600 });
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
      const [state, back] = unsigned?.valid ? unsigned.value.split('.') : [];
      if (req.query.error || !state || state !== req.query.state) return reply.redirect('/', 303);
      // checked again on the way out: the cookie is signed, but the rule is the rule wherever a path is followed
      return reply.redirect(safeReturnPath(back ? Buffer.from(back, 'base64url').toString('utf8') : null) ?? '/account', 303);
    },
  );
}
