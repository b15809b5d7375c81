// A relying party for the browser tests: a registered client whose redirect and post-logout URIs point at a real
// loopback listener of its own, and openid-client configured for it by discovery.
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import { makeClient } from './factories.ts';
import { freePort } from './net.ts';
import { authorizationRequest, discover } from './rp.ts';
import type { TestServer } from './server.ts';

/** the RP's loopback listener: answers 200 "signed in", records every URL and announces it by path */
async function listener(t: { after(fn: () => Promise<void>): void }) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const hits: string[] = [];
  const events = new EventEmitter();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, origin);
    hits.push(url.href);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('signed in');
    events.emit(url.pathname, url.href);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    origin,
    hits,
    /** the next request to `pathname`; call it before the navigation that leads there */
    next: (pathname: string) => once(events, pathname, { signal: AbortSignal.timeout(10_000) }).then(([url]) => url as string),
  };
}

export interface RelyingPartyOptions {
  /** overrides for the registered client (a name, `firstParty: false`, …) */
  client?: Parameters<typeof makeClient>[1];
  /** extra parameters of every authorization request `authorize` builds (a scope, claims, …) */
  params?: Record<string, string>;
}

/** a registered client (first-party unless `opts.client` says otherwise) whose redirect URI is its own listener's /callback */
export async function relyingParty(t: { after(fn: () => Promise<void>): void }, s: TestServer, opts: RelyingPartyOptions = {}) {
  const cb = await listener(t);
  const client = await makeClient(s.services, { redirectUris: [`${cb.origin}/callback`], postLogoutRedirectUris: [`${cb.origin}/logged-out`], ...opts.client });
  const config = await discover(s.issuer, client);
  return { ...cb, client, config, authorize: () => authorizationRequest(config, client.redirectUri, opts.params) };
}

export type Rp = Awaited<ReturnType<typeof relyingParty>>;
