// The provider's endpoints during a database outage (stopped, restarting, connections killed, pool exhausted): they
// fail closed like our own routes, with 503 + Retry-After, instead of the library's 500 server_error — so that
// clients and proxies retry, and no session or token exists without its row.
import { dropAnswer, errorPage } from './request-guards.ts';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from '../db/unavailable.ts';

type Render = (template: string, context: Record<string, unknown>) => string;

const MESSAGE = 'The service is temporarily unavailable. Please try again in a moment.';

export function failClosedDuringOutages(provider: Provider, render: Render): void {
  // the library answers its own errors (500 server_error) and reports them through this event, with the request
  const outage = new WeakSet<object>();
  provider.on('server_error', (ctx, err) => {
    if (isDatabaseUnavailable(err)) outage.add(ctx);
  });
  provider.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      outage.add(ctx);
    }
    if (!outage.has(ctx) || ctx.headerSent) return;
    // the answer made before the fault does not leave (a redirect with a code whose row was not written, the cookies
    // of a session not saved or of an interaction not ended): the browser keeps what it had, for its retry
    dropAnswer(ctx);
    ctx.set('retry-after', String(RETRY_AFTER_SECONDS));
    ctx.set('cache-control', 'no-store');
    errorPage(ctx as KoaContextWithOIDC, render, 503, 'temporarily_unavailable', MESSAGE);
  });
}
