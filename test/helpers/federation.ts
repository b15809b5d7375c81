// Two Gatehouse servers: "upstream" (another Gatehouse acting as the upstream OpenID provider, its own database) and
// "gatehouse" (the one under test, which federates to it). Browsers are per server (real browsers keep cookies per
// host; both run on 127.0.0.1 here, so one jar each keeps their sessions apart).
import { startServer, type TestServer } from './server.ts';
import { makeClient, makeUser, PASSWORD } from './factories.ts';
import { HttpBrowser, formOn, type Page } from './http-browser.ts';
import { authorizationRequest, discover, redeem, oidc, type AuthRequest } from './rp.ts';
import { codeFor } from './totp.ts';

type T = { after(fn: () => Promise<void>): void };

export interface FederationSetup {
  upstream: TestServer;
  gatehouse: TestServer;
  /** the upstream's client for Gatehouse */
  upstreamName: string;
}

/** both servers, the upstream's client for Gatehouse, and the upstream registered in Gatehouse (trust rule as given) */
export async function startFederation(t: T, opts: { trustAmr?: string[]; env?: Record<string, string>; upstreamHost?: string } = {}): Promise<FederationSetup> {
  const env = { GATEHOUSE_ALLOW_PRIVATE_FETCH: 'true', ...opts.env };
  const gatehouse = await startServer(t, { env });
  // a real browser shares cookies across ports of one host: a browser test puts the upstream on another host name
  const upstream = await startServer(t, { env, issuerHost: opts.upstreamHost });
  const client = await makeClient(upstream.services, { name: 'Gatehouse downstream', redirectUris: [`${gatehouse.issuer}/federation/callback`], firstParty: true });
  await gatehouse.services.upstreams.add({
    name: 'corp',
    displayName: 'Corp SSO',
    issuer: upstream.issuer,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    scopes: 'openid email profile',
    trustAmr: opts.trustAmr,
  });
  return { upstream, gatehouse, upstreamName: 'corp' };
}

/** a user of the upstream, with an upstream authenticator when asked */
export async function upstreamUser(setup: FederationSetup, email: string, opts: { totp?: boolean } = {}) {
  const user = await makeUser(setup.upstream.services, { email });
  if (!opts.totp) return { ...user, secret: undefined as string | undefined };
  const pending = await setup.upstream.services.twoFactor.startEnrollment(user, 'Phone');
  await setup.upstream.services.twoFactor.activate(user, pending.credentialId, codeFor(pending.secret, new Date(Date.now() - 30_000)), {});
  return { ...user, secret: pending.secret as string | undefined };
}

/** links a Gatehouse user to an upstream user directly (as an earlier federated sign-in would have) */
export async function link(setup: FederationSetup, localUserId: string, upstreamUserId: string) {
  const up = await setup.gatehouse.services.upstreams.byName(setup.upstreamName);
  await setup.gatehouse.services.db.insertInto('upstream_links').values({ user_id: localUserId, upstream_id: up.id, issuer: setup.upstream.issuer, subject: upstreamUserId, email: null, last_used_at: null }).execute();
}

export interface Journey {
  rp: oidc.Configuration;
  request: AuthRequest;
  redirectUri: string;
  down: HttpBrowser;
  up: HttpBrowser;
  /** the Gatehouse sign-in page */
  login: Page;
}

/** an app of Gatehouse starts a sign-in; returns Gatehouse's sign-in page */
export async function beginAtApp(setup: FederationSetup, opts: { tenantId?: string; params?: Record<string, string> } = {}): Promise<Journey> {
  const client = await makeClient(setup.gatehouse.services, { tenantId: opts.tenantId ?? null, redirectUris: ['http://127.0.0.1:9/fed-callback'] });
  const rp = await discover(setup.gatehouse.issuer, client);
  const request = await authorizationRequest(rp, client.redirectUri, opts.params);
  const down = new HttpBrowser();
  const login = await down.get(request.url);
  return { rp, request, redirectUri: client.redirectUri, down, up: new HttpBrowser(), login };
}

/**
 * "Continue with Corp SSO", sign in at the upstream (password, then its code when it asks), and come back: returns
 * the Gatehouse page the redirects end on (or the app's callback URL as `url` with status 0)
 */
export async function continueWithUpstream(setup: FederationSetup, j: Journey, creds: { email: string; password?: string; secret?: string }): Promise<Page> {
  const door = formOn(j.login, `/federated/${setup.upstreamName}`);
  const toUpstream = await j.down.request(door.action, { form: door.fields });
  if (toUpstream.status !== 303) return toUpstream;
  const back = (u: string) => u.startsWith(setup.gatehouse.issuer);
  let page = await j.up.get(new URL(toUpstream.headers.get('location')!, door.action).toString(), back);
  if (!back(page.url)) {
    const form = formOn(page, '/login');
    page = await j.up.follow(await j.up.request(form.action, { form: { ...form.fields, email: creds.email, password: creds.password ?? PASSWORD } }), back);
    if (!back(page.url) && page.url.endsWith('/totp')) {
      const f = formOn(page, '/totp');
      page = await j.up.follow(await j.up.request(f.action, { form: { ...f.fields, code: codeFor(creds.secret!) } }), back);
    }
  }
  if (!back(page.url)) throw new Error(`upstream sign-in did not come back: ${page.url} ${page.status}\n${page.body.slice(0, 400)}`);
  return atGatehouse(j, page.url);
}

/** follows Gatehouse's redirects from `url`, stopping at the app's callback */
export async function atGatehouse(j: Journey, url: string): Promise<Page> {
  return j.down.get(url, (u) => u.startsWith(j.redirectUri));
}

/** types the local authenticator code on Gatehouse's /totp page */
export async function localCode(j: Journey, page: Page, secret: string, at: Date = new Date()): Promise<Page> {
  const f = formOn(page, '/totp');
  return j.down.follow(await j.down.request(f.action, { form: { ...f.fields, code: codeFor(secret, at) } }), (u) => u.startsWith(j.redirectUri));
}

/** the app redeems the code: the ID token's claims */
export async function idTokenClaims(j: Journey, callbackUrl: string) {
  const tokens = await redeem(j.rp, j.request, callbackUrl);
  return tokens.claims()!;
}
