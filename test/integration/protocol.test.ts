// Protocol behaviour seen by real relying parties (openid-client) against a real server and PostgreSQL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as jose from 'jose';
import { createServices } from '../../src/container.ts';
import { createDb } from '../../src/db/database.ts';
import { testConfig } from '../helpers/config.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

async function signedIn(s: TestServer, clientOver: Parameters<typeof makeClient>[1] = {}, params: Record<string, string> = {}) {
  const user = await makeUser(s.services);
  const client = await makeClient(s.services, clientOver);
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri, params);
  const browser = new HttpBrowser();
  const { callbackUrl } = await signInOverHttp(browser, req.url, client.redirectUri, user);
  assert.ok(callbackUrl, 'signed in');
  return { user, client, config, req, browser, callbackUrl };
}

function basic(clientId: string, secret: string) {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

test('discovery and JWKS are consistent and publish only what we support', async (t) => {
  const s = await startServer(t);
  const meta = (await (await fetch(`${s.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  assert.equal(meta.issuer, s.issuer);
  assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
  assert.deepEqual(meta.response_types_supported, ['code']);
  assert.deepEqual(meta.acr_values_supported, ['urn:gatehouse:acr:pwd', 'urn:gatehouse:acr:mfa']);
  assert.equal(meta.claims_parameter_supported, true);
  assert.ok(!(meta.grant_types_supported as string[]).includes('password'));
  assert.ok(!(meta.grant_types_supported as string[]).includes('implicit'));
  for (const k of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'end_session_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
    assert.ok(String(meta[k]).startsWith(`${s.issuer}/`), `${k} is under the issuer`);
  }
  const jwks = (await (await fetch(String(meta.jwks_uri))).json()) as { keys: Record<string, unknown>[] };
  assert.deepEqual(jwks.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
  assert.equal(new Set(jwks.keys.map((k) => k.kid)).size, jwks.keys.length, 'kids are unique');
  for (const k of jwks.keys) assert.equal(k.d, undefined, 'no private key material is published');
});

test('refresh-token-rotation: a refresh keeps amr/acr, and reuse of a rotated token revokes the grant', async (t) => {
  const s = await startServer(t);
  const { config, req, callbackUrl } = await signedIn(s);
  const first = await redeem(config, req, callbackUrl);
  assert.ok(first.refresh_token);
  const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
  assert.notEqual(second.refresh_token, first.refresh_token, 'rotated');
  assert.deepEqual(second.claims()?.amr, ['pwd'], 'a refresh never makes the session look stronger or weaker');
  assert.equal(second.claims()?.acr, 'urn:gatehouse:acr:pwd');
  assert.equal(second.claims()?.auth_time, first.claims()?.auth_time, 'auth_time stays the time of the sign-in');
  await assert.rejects(oidc.refreshTokenGrant(config, first.refresh_token!), (e: { error?: string }) => e.error === 'invalid_grant');
  await assert.rejects(oidc.refreshTokenGrant(config, second.refresh_token!), (e: { error?: string }) => e.error === 'invalid_grant', 'the whole grant is dead after reuse');
});

test('refresh tokens are bound to their client', async (t) => {
  const s = await startServer(t);
  const { config, req, callbackUrl } = await signedIn(s);
  const tokens = await redeem(config, req, callbackUrl);
  const other = await makeClient(s.services);
  const otherConfig = await discover(s.issuer, other);
  await assert.rejects(oidc.refreshTokenGrant(otherConfig, tokens.refresh_token!), (e: { error?: string }) => e.error === 'invalid_grant');
});

test('introspection and revocation for a confidential client; amr/acr in the introspection response', async (t) => {
  const s = await startServer(t);
  const { config, req, callbackUrl } = await signedIn(s);
  const tokens = await redeem(config, req, callbackUrl);
  const info = await oidc.tokenIntrospection(config, tokens.access_token);
  assert.equal(info.active, true);
  assert.deepEqual(info.amr, ['pwd']);
  assert.equal(info.acr, 'urn:gatehouse:acr:pwd');
  await oidc.tokenRevocation(config, tokens.access_token);
  const after = await oidc.tokenIntrospection(config, tokens.access_token);
  assert.equal(after.active, false);
  await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck));
});

test('client-credentials: machine tokens carry no user claims; JWT access tokens for a resource verify against the JWKS', async (t) => {
  const s = await startServer(t);
  const machine = await s.services.clients.create({ name: 'Worker', grantTypes: ['client_credentials'] });
  const config = await discover(s.issuer, { clientId: machine.clientId, clientSecret: machine.clientSecret });
  const opaque = await oidc.clientCredentialsGrant(config, { scope: 'api' });
  assert.ok(opaque.access_token);
  const jwt = await oidc.clientCredentialsGrant(config, { scope: 'api', resource: 'https://api.example.com/' });
  const jwks = jose.createRemoteJWKSet(new URL(`${s.issuer}/oidc/jwks`));
  const { payload, protectedHeader } = await jose.jwtVerify(jwt.access_token, jwks, { issuer: s.issuer, audience: 'https://api.example.com/' });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(payload.client_id, machine.clientId);
  assert.equal(payload.amr, undefined);
  assert.equal(payload.sub, machine.clientId, 'the subject of a machine token is the client');
  const badSecret = await discover(s.issuer, { clientId: machine.clientId, clientSecret: 'not-the-secret' });
  await assert.rejects(oidc.clientCredentialsGrant(badSecret, { scope: 'api' }), (e: { error?: string }) => e.error === 'invalid_client');
});

test('JWT access tokens for a resource carry amr and acr of the sign-in', async (t) => {
  const s = await startServer(t);
  const { config, req, callbackUrl } = await signedIn(s, {}, { resource: 'https://api.example.com/', scope: 'openid api' });
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callbackUrl), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce }, { resource: 'https://api.example.com/' });
  const jwks = jose.createRemoteJWKSet(new URL(`${s.issuer}/oidc/jwks`));
  const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: s.issuer, audience: 'https://api.example.com/' });
  assert.deepEqual(payload.amr, ['pwd']);
  assert.equal(payload.acr, 'urn:gatehouse:acr:pwd');
});

test('authorization-code-reuse: a second redemption fails and revokes the tokens of the first', async (t) => {
  const s = await startServer(t);
  const { config, req, callbackUrl } = await signedIn(s);
  const tokens = await redeem(config, req, callbackUrl);
  await assert.rejects(redeem(config, req, callbackUrl), (e: { error?: string }) => e.error === 'invalid_grant');
  await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck), 'the first access token was revoked');
});

test('authorization-code-concurrent-redemption: 10 parallel redemptions of one code have exactly one winner', async (t) => {
  const s = await startServer(t);
  const { config, req, callbackUrl } = await signedIn(s);
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => redeem(config, req, callbackUrl)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
});

test('redirect-uri-exact-match: no variant of a registered redirect URI is redirected to', async (t) => {
  const s = await startServer(t);
  const client = await makeClient(s.services, { redirectUris: ['https://app.example.com/cb'] });
  const config = await discover(s.issuer, client);
  const variants = [
    'https://app.example.com/cb?x=1',
    'https://app.example.com/CB',
    'https://app.example.com/cb/',
    'https://app.example.com/cb#frag',
    'https://app.example.com/cb/..;/evil',
    'https://app.example.com@evil.example/cb',
    'https://evil.example@app.example.com@evil.example/cb',
    'http://app.example.com/cb',
    'https://app.example.com:8443/cb',
    'https://APP.example.com/cb',
    'https://app.example.com.evil.example/cb',
    'https://app.example.com/cb%2F..',
    'https://app.example.com/other',
    'http://127.0.0.1/cb',
    'https://localhost/cb',
  ];
  for (const redirect of variants) {
    const req = await authorizationRequest(config, redirect);
    const res = await fetch(req.url, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(res.status, 400, `${redirect} → 400`);
    assert.equal(res.headers.get('location'), null, `${redirect} is not redirected to`);
    assert.match(await res.text(), /We could not complete this request/);
  }
});

test('PKCE is required (S256 only) and no implicit or password grant exists', async (t) => {
  const s = await startServer(t);
  const client = await makeClient(s.services);
  const auth = `${s.issuer}/oidc/auth?client_id=${client.clientId}&redirect_uri=${encodeURIComponent(client.redirectUri)}&response_type=code&scope=openid`;
  const noPkce = await fetch(auth, { redirect: 'manual' });
  assert.match(String(noPkce.headers.get('location')), /error=invalid_request/);
  const plain = await fetch(`${auth}&code_challenge=${'a'.repeat(43)}&code_challenge_method=plain`, { redirect: 'manual' });
  assert.match(String(plain.headers.get('location')), /error=invalid_request/);
  const implicit = await fetch(auth.replace('response_type=code', 'response_type=token'), { redirect: 'manual' });
  assert.match(String(implicit.headers.get('location') ?? (await implicit.text())), /unsupported_response_type|invalid/);
  const pw = await fetch(`${s.issuer}/oidc/token`, {
    method: 'POST',
    headers: { authorization: basic(client.clientId, client.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: 'a', password: 'b' }),
  });
  assert.equal(pw.status, 400);
  assert.equal(((await pw.json()) as { error: string }).error, 'unsupported_grant_type');
});

test('interaction-binding: a form from one interaction cannot complete another', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const browser = new HttpBrowser();
  const a = await browser.get((await authorizationRequest(config, client.redirectUri)).url);
  const formA = formOn(a, '/login');
  const b = await new HttpBrowser().get((await authorizationRequest(config, client.redirectUri)).url);
  const formB = formOn(b, '/login');
  // browser A posts to B's interaction uid: its cookie names another interaction
  const res = await browser.request(formB.action, { form: { ...formA.fields, email: user.email, password: user.password } });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('location'), null);
  assert.match(res.body, /expired or was opened in another browser/);
});

test('csrf: the sign-in form refuses a post without its token', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const browser = new HttpBrowser();
  const page = await browser.get((await authorizationRequest(config, client.redirectUri)).url);
  const form = formOn(page, '/login');
  const res = await browser.request(form.action, { form: { email: user.email, password: user.password } });
  assert.equal(res.status, 403);
  const forged = await browser.request(form.action, { form: { _csrf: 'forged', email: user.email, password: user.password } });
  assert.equal(forged.status, 403);
});

test('security headers on every HTML page, ours and the provider\'s', async (t) => {
  const s = await startServer(t);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const browser = new HttpBrowser();
  const login = await browser.get((await authorizationRequest(config, client.redirectUri)).url);
  const providerError = await browser.request(`${s.issuer}/oidc/auth?client_id=nope`);
  const notFound = await browser.request(`${s.issuer}/nothing-here`);
  for (const page of [login, providerError, notFound]) {
    assert.match(String(page.headers.get('content-type')), /text\/html/, page.url);
    const csp = String(page.headers.get('content-security-policy'));
    assert.match(csp, /frame-ancestors 'none'/, page.url);
    assert.match(csp, /default-src 'self'/, page.url);
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer', page.url);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff', page.url);
    assert.equal(page.headers.get('strict-transport-security'), null, 'no HSTS on an http issuer');
  }
});

test('HSTS when the issuer is https (behind a TLS-terminating proxy), and endpoints follow the issuer', async (t) => {
  const s = await startServer(t, { env: { GATEHOUSE_ISSUER: 'https://sso.example.com', GATEHOUSE_TRUST_PROXY: 'true' } });
  const port = (s.app.server.address() as { port: number }).port;
  const res = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`, {
    headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'sso.example.com', host: 'sso.example.com' },
  });
  const meta = (await res.json()) as Record<string, string>;
  assert.equal(meta.issuer, 'https://sso.example.com');
  assert.equal(meta.token_endpoint, 'https://sso.example.com/oidc/token');
  assert.match(String(res.headers.get('strict-transport-security')), /max-age=31536000/);
});

test('rp-initiated-logout with id_token_hint ends the session and returns to the registered URI only', async (t) => {
  const s = await startServer(t);
  const { config, req, callbackUrl, browser, client } = await signedIn(s);
  const tokens = await redeem(config, req, callbackUrl);
  const registered = 'http://127.0.0.1:9/logged-out';
  const bad = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/', state: 'x' });
  const badPage = await browser.request(bad.toString());
  assert.equal(badPage.headers.get('location'), null, 'an unregistered post-logout URI is never redirected to');
  const url = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: registered, state: 'st8' });
  const confirm = await browser.get(url.toString());
  const form = formOn(confirm, '/session/end/confirm');
  const done = await browser.request(form.action, { form: { ...form.fields, logout: 'yes' } });
  const location = String(done.headers.get('location'));
  assert.ok(location.startsWith(`${registered}?`), location);
  assert.equal(new URL(location).searchParams.get('state'), 'st8');
  // the session is gone: the next authorization request shows the sign-in form again
  const again = await signInOverHttp(browser, (await authorizationRequest(config, client.redirectUri)).url, client.redirectUri);
  assert.equal(again.callbackUrl, undefined);
  assert.match(again.page.body, /autocomplete="current-password"/);
});

test('back-channel logout: the RP receives a logout token for the session', async (t) => {
  const http = await import('node:http');
  const received: string[] = [];
  const rp = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.end();
    });
  });
  await new Promise<void>((r) => rp.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => rp.close(() => r())));
  const bcl = `http://127.0.0.1:${(rp.address() as { port: number }).port}/bcl`;
  const s = await startServer(t, { env: { GATEHOUSE_ALLOW_PRIVATE_FETCH: 'true' } });
  const { config, req, callbackUrl, browser } = await signedIn(s, { backchannelLogoutUri: bcl });
  const tokens = await redeem(config, req, callbackUrl);
  const confirm = await browser.get(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! }).toString());
  const form = formOn(confirm, '/session/end/confirm');
  await browser.request(form.action, { form: { ...form.fields, logout: 'yes' } });
  for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(received.length, 1);
  const jwks = jose.createRemoteJWKSet(new URL(`${s.issuer}/oidc/jwks`));
  const { payload, protectedHeader } = await jose.jwtVerify(received[0]!, jwks, { issuer: s.issuer, audience: config.clientMetadata().client_id });
  assert.equal(protectedHeader.typ, 'logout+jwt');
  assert.ok((payload.events as Record<string, unknown>)['http://schemas.openid.net/event/backchannel-logout']);
  assert.equal(payload.sid, tokens.claims()?.sid);
  assert.equal(payload.nonce, undefined);
});

test('key-rotation: tokens signed before a rotation keep verifying, new ones use the new key', async (t) => {
  const first = await startServer(t);
  const { config, req, callbackUrl, client } = await signedIn(first);
  const before = await redeem(config, req, callbackUrl);
  const oldKid = jose.decodeProtectedHeader(before.id_token!).kid;
  await first.close();
  // what `gatehouse keys rotate` does, on the same database
  const db = createDb(first.databaseUrl, { max: 1 });
  await createServices(testConfig({ DATABASE_URL: first.databaseUrl, GATEHOUSE_KEY_PUBLISH_DELAY: '0' }), db).keys.rotate();
  await db.destroy();
  // a node restarted after `gatehouse keys rotate`, on the same database
  const second = await startServer(t, { databaseUrl: first.databaseUrl });
  const jwks = jose.createRemoteJWKSet(new URL(`${second.issuer}/oidc/jwks`));
  const { payload } = await jose.jwtVerify(before.id_token!, jwks, { audience: client.clientId });
  assert.equal(payload.sub, before.claims()?.sub);
  const config2 = await discover(second.issuer, client);
  const browser = new HttpBrowser();
  const req2 = await authorizationRequest(config2, client.redirectUri);
  const user = await makeUser(second.services);
  const { callbackUrl: cb2 } = await signInOverHttp(browser, req2.url, client.redirectUri, user);
  const after = await redeem(config2, req2, cb2!);
  assert.notEqual(jose.decodeProtectedHeader(after.id_token!).kid, oldKid);
});

test('health, readiness and metrics endpoints', async (t) => {
  const s = await startServer(t);
  assert.equal((await fetch(`${s.issuer}/healthz`)).status, 200);
  const ready = await fetch(`${s.issuer}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });
  await signedIn(s);
  const metrics = await (await fetch(`${s.issuer}/metrics`)).text();
  assert.match(metrics, /gatehouse_http_requests_total\{method="POST",route="\/interaction\/:uid\/login",status="303"\} 1/);
  assert.match(metrics, /gatehouse_login_outcomes_total\{outcome="password_ok"\} 1/);
  assert.match(metrics, /gatehouse_http_request_duration_seconds_bucket/);
});

test('RS256 is available per client for old relying parties', async (t) => {
  const s = await startServer(t);
  const { config, req, callbackUrl } = await signedIn(s, { idTokenAlg: 'RS256' });
  const tokens = await redeem(config, req, callbackUrl);
  assert.equal(jose.decodeProtectedHeader(tokens.id_token!).alg, 'RS256');
});

test('no-secrets-in-logs: passwords, codes, tokens and client secrets never reach a log line', async (t) => {
  const { PassThrough } = await import('node:stream');
  const stream = new PassThrough();
  let logs = '';
  stream.on('data', (d) => (logs += d));
  const s = await startServer(t, { logStream: stream });
  const { config, req, callbackUrl, client, user, browser } = await signedIn(s);
  const tokens = await redeem(config, req, callbackUrl);
  await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  await browser.get(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! }).toString());
  const code = new URL(callbackUrl).searchParams.get('code')!;
  assert.ok(logs.includes('/oidc/token'), 'requests were logged');
  for (const secret of [user.password, code, tokens.access_token, tokens.refresh_token!, tokens.id_token!, client.clientSecret!, req.verifier]) {
    assert.ok(!logs.includes(secret), `a secret (${secret.slice(0, 6)}…) appeared in the logs`);
  }
});

test('PKCE: a wrong code_verifier is refused at the token endpoint', async (t) => {
  const s = await startServer(t);
  const { config, req, callbackUrl } = await signedIn(s);
  await assert.rejects(
    oidc.authorizationCodeGrant(config, new URL(callbackUrl), { pkceCodeVerifier: `${req.verifier.slice(0, -4)}AAAA`, expectedState: req.state, expectedNonce: req.nonce }),
    (e: { error?: string }) => e.error === 'invalid_grant',
  );
});
