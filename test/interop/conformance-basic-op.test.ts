// OpenID Foundation conformance, "Basic OP" plan (oidcc-basic-certification-test-plan, code flow), reproduced with
// openid-client as the RP and the cookie-jar browser: the checks of that plan that apply to a code-only provider.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer } from '../helpers/server.ts';

async function setup(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const browser = new HttpBrowser();
  const atRp = (u: string) => u.startsWith(client.redirectUri);
  /** an authorization request through the browser; signs in when Gatehouse asks */
  const authorize = async (params: Record<string, string> = {}, signIn = true) => {
    const req = await authorizationRequest(config, client.redirectUri, params);
    const r = await signInOverHttp(browser, req.url, client.redirectUri, signIn ? user : undefined);
    return { req, ...r };
  };
  return { s, user, client, config, browser, atRp, authorize };
}

const query = (url: string) => new URL(url).searchParams;

describe('Conformance: Basic OP', () => {
  test('code flow: nonce echoed, iss in the authorization response (RFC 9207), auth_time, userinfo', async (t) => {
    const { s, config, authorize } = await setup(t);
    const { req, callbackUrl } = await authorize();
    assert.equal(query(callbackUrl!).get('iss'), s.issuer);
    assert.equal(query(callbackUrl!).get('state'), req.state);
    const tokens = await redeem(config, req, callbackUrl!); // openid-client checks iss, state, nonce, signature
    const c = tokens.claims()!;
    assert.equal(c.nonce, req.nonce);
    assert.equal(typeof c.auth_time, 'number');
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, c.sub);
    assert.equal(userinfo.sub, c.sub);
  });

  test('prompt=none without a session: login_required by the book (error, state, iss); with one: a code', async (t) => {
    const { s, authorize } = await setup(t);
    const silent = await authorize({ prompt: 'none' }, false);
    const q = query(silent.callbackUrl!);
    assert.equal(q.get('error'), 'login_required');
    assert.equal(q.get('state'), silent.req.state);
    assert.equal(q.get('iss'), s.issuer);
    assert.equal(q.get('code'), null);
    await authorize();
    const again = await authorize({ prompt: 'none' }, false);
    assert.ok(query(again.callbackUrl!).get('code'), 'SSO without a page');
  });

  test('prompt=login and max_age force a new sign-in over a live session; auth_time moves', async (t) => {
    const { config, authorize } = await setup(t);
    const first = await authorize();
    const t1 = (await redeem(config, first.req, first.callbackUrl!)).claims()!.auth_time!;
    const sso = await authorize({}, false);
    assert.ok(sso.callbackUrl, 'SSO');
    const login = await authorize({ prompt: 'login' }, false);
    assert.equal(login.callbackUrl, undefined, 'prompt=login shows the sign-in page');
    assert.match(login.page.body, /autocomplete="current-password"/);
    await new Promise((r) => setTimeout(r, 2100));
    const aged = await authorize({ max_age: '1' }, false);
    assert.equal(aged.callbackUrl, undefined, 'a sign-in older than max_age is not reused');
    const fresh = await authorize({ max_age: '1' });
    const c = (await redeem(config, fresh.req, fresh.callbackUrl!)).claims()!;
    assert.ok(c.auth_time! > t1, 'auth_time is the new sign-in');
  });

  test('claims parameter, ui_locales, claims_locales, login_hint and unknown parameters', async (t) => {
    const { user, config, browser, client, authorize } = await setup(t);
    const hinted = await signInOverHttp(browser, (await authorizationRequest(config, client.redirectUri, { login_hint: user.email })).url, client.redirectUri);
    assert.match(hinted.page.body, new RegExp(`name="email"[^>]*value="${user.email.replace(/[.+]/g, '\\$&')}"`), 'login_hint pre-fills the email');
    const r = await authorize({
      scope: 'openid',
      claims: JSON.stringify({ id_token: { email: { essential: true } }, userinfo: { name: null } }),
      ui_locales: 'fr-CA fr en',
      claims_locales: 'fr',
      gatehouse_unknown_param: 'ignored',
    });
    const tokens = await redeem(config, r.req, r.callbackUrl!);
    assert.equal(tokens.claims()!.email, user.email, 'an id_token claim asked for by the claims parameter');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    assert.equal(info.name, user.name);
  });

  test('a code redeemed twice is refused and revokes what the first redemption issued; an expired code is refused', async (t) => {
    const { s, config, authorize } = await setup(t);
    const r = await authorize();
    const tokens = await redeem(config, r.req, r.callbackUrl!);
    await assert.rejects(redeem(config, r.req, r.callbackUrl!), (e: { error?: string }) => e.error === 'invalid_grant');
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false, 'the first tokens are revoked');

    const late = await authorize({}, false);
    await s.services.db.updateTable('oidc_payloads').set({ expires_at: new Date(Date.now() - 1000) }).where('model', '=', 'AuthorizationCode').execute();
    await assert.rejects(redeem(config, late.req, late.callbackUrl!), (e: { error?: string }) => e.error === 'invalid_grant');
  });

  test('errors by the book: unsupported response_type and response_mode=fragment go back with error and state', async (t) => {
    const { s, client, browser } = await setup(t);
    const base = { client_id: client.clientId, redirect_uri: client.redirectUri, scope: 'openid', state: 'st-1', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    const cases: Record<string, string>[] = [{ response_type: 'token' }, { response_type: 'code', response_mode: 'fragment' }];
    for (const extra of cases) {
      const res = await browser.request(`${s.issuer}/oidc/auth?${new URLSearchParams({ ...base, ...extra })}`);
      const location = new URL(String(res.headers.get('location')));
      const p = location.hash ? new URLSearchParams(location.hash.slice(1)) : location.searchParams;
      assert.ok(location.href.startsWith(client.redirectUri), JSON.stringify(extra));
      assert.ok(p.get('error'), `${JSON.stringify(extra)}: ${location}`);
      assert.ok(p.get('error_description'));
      assert.equal(p.get('state'), 'st-1');
      assert.equal(p.get('iss'), s.issuer);
    }
    const token = await fetch(`${s.issuer}/oidc/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: 'nope', client_id: client.clientId, client_secret: client.clientSecret! }) });
    assert.equal(token.status, 400);
    const body = (await token.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_grant');
    assert.ok(body.error_description);
    assert.match(token.headers.get('cache-control') ?? '', /no-store/);
  });
});
