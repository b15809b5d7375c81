// Guards around oidc-provider's request handling: who may introspect a token, when sign-out may skip its question,
// and what happens to errors that escape the provider's own error handling.
import { errors, type Client, type KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { PERSONAL_TOKEN_CLIENT, type ClientService } from '../domain/clients/client.service.ts';

type Render = (template: string, context: Record<string, unknown>) => string;
type Log = { error(obj: unknown, msg?: string): void };

/**
 * Introspection answers only the client the token was issued to, and confidential clients registered as resource
 * servers (`client create --resource-server`); anyone else gets `active: false`, as for an unknown token.
 */
export function introspectionAllowedPolicy(clients: Pick<ClientService, 'isResourceServer'>) {
  return async (_ctx: KoaContextWithOIDC, client: Client, token: { clientId?: string }): Promise<boolean> => {
    // the client personal access tokens are reported as is nobody's: only resource servers introspect them
    if (client.clientId === PERSONAL_TOKEN_CLIENT) return false;
    if (token.clientId === client.clientId) return true;
    if (client.clientAuthMethod === 'none') return false;
    return clients.isResourceServer(client.clientId);
  };
}

/** a client revokes only its own tokens (the library's default, stated so that it does not warn on every call) */
export async function revocationAllowedPolicy(_ctx: KoaContextWithOIDC, client: Client, token: { clientId?: string }): Promise<boolean> {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
}

/**
 * A logout request may end the session without asking only when its id_token_hint was issued for THIS session:
 * same account (`sub`) and the session id (`sid`) this session has with the hint's client. Any other valid ID
 * token (another user's, an older session's) only names the app; the user is asked.
 */
export function hintMatchesSession(ctx: KoaContextWithOIDC): boolean {
  const hint = (ctx.oidc.entities as { IdTokenHint?: { payload?: { sub?: unknown; sid?: unknown } } }).IdTokenHint?.payload;
  const session = ctx.oidc.session;
  const client = ctx.oidc.client;
  if (!hint || !session?.accountId || !client) return false;
  // read, not sidFor(): that would add an empty authorization for a client this session never signed in to
  const sid = (session as unknown as { authorizations?: Record<string, { sid?: string }> }).authorizations?.[client.clientId]?.sid;
  return typeof hint.sub === 'string' && hint.sub === session.accountId && typeof hint.sid === 'string' && Boolean(sid) && hint.sid === sid;
}

/**
 * Every ID token carries `sid` (OIDC session id, as back-channel logout clients already get), so that a logout's
 * id_token_hint can be matched to the session it came from.
 */
export function includeSidInIdTokens(provider: Provider) {
  (provider.Client.prototype as unknown as { includeSid(): boolean }).includeSid = () => true;
}

/** a failed request's redirect and cookies, made before it failed: the browser keeps what it had, for its retry */
export function dropAnswer(ctx: { remove(name: string): void }): void {
  for (const name of ['location', 'set-cookie']) ctx.remove(name);
}

/** our error page for browsers, an OAuth-style JSON error for everyone else */
export function errorPage(ctx: KoaContextWithOIDC, render: Render, status: number, error: string, explanation: string, retryUrl?: string) {
  ctx.status = status;
  if (ctx.accepts('json', 'html') === 'html') {
    ctx.type = 'html';
    ctx.body = render('oidc/error.njk', { error, explanation, retryUrl });
  } else {
    ctx.body = { error, error_description: explanation };
  }
}

/**
 * Koa middleware in front of the provider's routes:
 * - errors that escape the provider's own handler (a session that cannot be saved, …) are logged through the
 *   application's structured logger and answered with our error page, never koa's bare text with no headers;
 * - a device-code form posted (or a device sign-in resumed) without a live session (no cookie, or an expired one)
 *   gets a 400 page: the provider would otherwise fail while saving the new, empty session;
 * - an authorization resume (/oidc/auth/:uid) ignores its query string.
 * Also replaces koa's default 'error' listener (which prints to stderr) with the logger.
 */
export function installRequestGuards(provider: Provider, deps: { render: Render; log: Log; codeVerificationPath: string; authorizationPath: string }) {
  const { render, log } = deps;
  const cv = deps.codeVerificationPath;
  // the device pages that need the session the input page created: the code form's POST and the resume after sign-in
  const needsDeviceSession = (method: string, path: string) => (method === 'POST' && path === cv) || (method === 'GET' && path.startsWith(`${cv}/`));
  const isResume = (method: string, path: string) => method === 'GET' && path.startsWith(`${deps.authorizationPath}/`);
  // koa prints uncaught errors to stderr unless an 'error' listener exists (the typings only list the provider's events)
  (provider as unknown as NodeJS.EventEmitter).on('error', (err: unknown) => log.error({ err }, 'oidc request failed'));
  provider.use(async (ctx, next) => {
    try {
      // a resume uses the stored request only; query parameters there only confuse the provider's error page (a
      // client_id without the stored request made it fail with a 500)
      if (isResume(ctx.method, ctx.path)) ctx.querystring = '';
      if (needsDeviceSession(ctx.method, ctx.path)) {
        const cookies = { signed: true } as const;
        const id = ctx.cookies.get(provider.cookieName('session'), cookies);
        const session = id ? await provider.Session.find(id) : undefined;
        if (!session) {
          errorPage(ctx as KoaContextWithOIDC, render, 400, 'invalid_request', 'This page expired or your browser did not keep its cookie. Open the device page again and enter the code.', cv);
          return;
        }
      }
      await next();
    } catch (err) {
      log.error({ err }, 'oidc request failed');
      if (ctx.headerSent || !ctx.writable) return;
      dropAnswer(ctx);
      errorPage(ctx as KoaContextWithOIDC, render, 500, 'server_error', 'Something went wrong on our side. Please try again.');
    }
  });
}
