// The terminal door: the first-party authorization challenge endpoint, over real HTTP, with the same counters, policy
// and amr as the browser; and the example CLI (examples/cli-login) driven from a script with a code from oathtool.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';
import { systemClock, type Clock } from '../../src/domain/clock.ts';

const CLI_REDIRECT = 'http://127.0.0.1/cli-login';

async function setup(t: Parameters<typeof startServer>[0], clock: Clock = fixedClock(stepStart())) {
  const s = await startServer(t, { clock });
  const cli = await s.services.clients.create({ name: 'Gatehouse CLI', public: true, firstParty: true, redirectUris: [CLI_REDIRECT], grantTypes: ['refresh_token'] });
  return { s, clock, cli };
}

async function challenge(s: TestServer, params: Record<string, string>) {
  const res = await fetch(`${s.issuer}/oidc/authorize-challenge`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function pkce() {
  const verifier = oidc.randomPKCECodeVerifier();
  return { verifier, challenge: await oidc.calculatePKCECodeChallenge(verifier) };
}

async function redeem(s: TestServer, clientId: string, code: string, verifier: string) {
  const res = await fetch(`${s.issuer}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, client_id: clientId }) });
  const body = (await res.json()) as Record<string, string>;
  assert.equal(res.status, 200, JSON.stringify(body));
  const { payload } = await jwtVerify(body.id_token!, createRemoteJWKSet(new URL(`${s.issuer}/oidc/jwks`)), { issuer: s.issuer, audience: clientId });
  return { body, claims: payload };
}

test('terminal-sign-in-with-a-second-step: password → insufficient_authorization + auth_session → code → tokens with amr pwd/otp/mfa', async (t) => {
  const { s, clock, cli } = await setup(t);
  const fixed = clock as ReturnType<typeof fixedClock>;
  const user = await makeUser(s.services);
  const e = await enrollTotp(s.services, user, clock.now());
  const discovery = (await (await fetch(`${s.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  assert.equal(discovery.authorization_challenge_endpoint, `${s.issuer}/oidc/authorize-challenge`);
  const p = await pkce();
  const first = await challenge(s, { client_id: cli.clientId, username: user.email, password: user.password, scope: 'openid email offline_access', code_challenge: p.challenge, code_challenge_method: 'S256' });
  assert.equal(first.status, 400);
  assert.equal(first.body.error, 'insufficient_authorization');
  assert.deepEqual(first.body.methods, ['otp', 'recovery_code']);
  assert.equal(typeof first.body.auth_session, 'string');
  fixed.advance(30);
  const second = await challenge(s, { client_id: cli.clientId, auth_session: String(first.body.auth_session), otp: codeFor(e.secret, clock.now()) });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  const { body, claims } = await redeem(s, cli.clientId, String(second.body.authorization_code), p.verifier);
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(claims.acr, 'urn:gatehouse:acr:mfa');
  assert.equal(claims.sub, user.id);
  assert.ok(body.refresh_token, 'a refresh token for the terminal');
  // the auth_session is single use; the code too
  assert.equal((await challenge(s, { client_id: cli.clientId, auth_session: String(first.body.auth_session), otp: '123456' })).body.error, 'invalid_session');
  // a wrong PKCE verifier is refused at the token endpoint
  const p2 = await pkce();
  const pwdOnly = await makeUser(s.services);
  const ok = await challenge(s, { client_id: cli.clientId, username: pwdOnly.email, password: pwdOnly.password, code_challenge: p2.challenge, code_challenge_method: 'S256' });
  assert.equal(ok.status, 200);
  const wrong = await fetch(`${s.issuer}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code: String(ok.body.authorization_code), code_verifier: p.verifier, client_id: cli.clientId }) });
  assert.equal(wrong.status, 400);
});

test('terminal-sign-in-never-enrolls: a user whose organization requires 2FA but who has none is sent to the browser, with no token', async (t) => {
  const { s, cli } = await setup(t);
  const user = await makeUser(s.services);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);
  const p = await pkce();
  const r = await challenge(s, { client_id: cli.clientId, username: user.email, password: user.password, code_challenge: p.challenge, code_challenge_method: 'S256' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'redirect_to_web');
  assert.match(String(r.body.error_description), /Set up two-factor authentication in your browser first: http:\/\/127\.0\.0\.1:\d+\/account/);
  assert.equal(r.body.authorization_code, undefined);
  assert.equal(r.body.auth_session, undefined);
});

test('terminal-guesses-throttle-the-browser-too: six wrong codes at the challenge endpoint lock the same counter the sign-in page uses', async (t) => {
  const { s, clock, cli } = await setup(t);
  const user = await makeUser(s.services);
  const e = await enrollTotp(s.services, user, clock.now());
  const p = await pkce();
  const first = await challenge(s, { client_id: cli.clientId, username: user.email, password: user.password, code_challenge: p.challenge, code_challenge_method: 'S256' });
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await challenge(s, { client_id: cli.clientId, auth_session: String(first.body.auth_session), otp: String(100000 + i) })).status);
  assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429]);
  // the browser, right code, same account: throttled
  const web = await s.services.clients.create({ name: 'Web', redirectUris: ['http://127.0.0.1:9/callback'], firstParty: true });
  const config = await discover(s.issuer, web);
  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, 'http://127.0.0.1:9/callback');
  const login = await browser.get(req.url);
  const lf = formOn(login, '/login');
  const totpPage = await browser.follow(await browser.request(lf.action, { form: { ...lf.fields, email: user.email, password: user.password } }));
  // the next step's code (within the accepted drift), without moving the clock past the lock
  const tf = formOn(totpPage, '/totp');
  const res = await browser.request(tf.action, { form: { ...tf.fields, code: codeFor(e.secret, new Date(clock.now().getTime() + 30_000)) } });
  assert.equal(res.status, 429);
});

test('terminal-sign-in-refuses-what-it-must: third-party clients, missing PKCE, bad input — JSON 4xx, never 500', async (t) => {
  const { s, cli } = await setup(t);
  const third = await s.services.clients.create({ name: 'Third', public: true, redirectUris: [CLI_REDIRECT] });
  const user = await makeUser(s.services);
  const p = await pkce();
  assert.equal((await challenge(s, { client_id: third.clientId, username: user.email, password: user.password, code_challenge: p.challenge, code_challenge_method: 'S256' })).body.error, 'unauthorized_client');
  assert.equal((await challenge(s, { client_id: 'nobody', username: user.email, password: user.password })).status, 401);
  assert.equal((await challenge(s, { client_id: cli.clientId, username: user.email, password: user.password })).body.error, 'invalid_request', 'PKCE required');
  assert.equal((await challenge(s, { client_id: cli.clientId, auth_session: 'x'.repeat(43), otp: '123456' })).body.error, 'invalid_session');
  const wrongPassword = await challenge(s, { client_id: cli.clientId, username: user.email, password: 'not the password at all', code_challenge: p.challenge, code_challenge_method: 'S256' });
  assert.equal(wrongPassword.status, 400);
  assert.equal(wrongPassword.body.error, 'invalid_grant');
  const junk = await fetch(`${s.issuer}/oidc/authorize-challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id": 5' });
  assert.ok(junk.status >= 400 && junk.status < 500, `malformed body: ${junk.status}`);
});

test('example-cli-signs-in-from-a-script: examples/cli-login with a code from oathtool stores 0600 tokens with amr pwd/otp/mfa', async (t) => {
  // the real clock: oathtool reads it too. Enrolled with the previous step's code, so the current one is fresh
  const { s, cli } = await setup(t, systemClock);
  const user = await makeUser(s.services);
  const e = await enrollTotp(s.services, user, new Date(Date.now() - 30_000));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-'));
  const tokenFile = path.join(dir, 'tokens.json');
  const code = spawnSync('oathtool', ['--totp', '-b', e.secret], { encoding: 'utf8' }).stdout.trim();
  assert.match(code, /^\d{6}$/);
  const child = spawn(process.execPath, ['examples/cli-login/login.mjs', 'login'], { env: { ...process.env, GATEHOUSE_ISSUER: s.issuer, GATEHOUSE_CLIENT_ID: cli.clientId, GATEHOUSE_TOKEN_FILE: tokenFile } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.stdin.end(`${user.email}\n${user.password}\n${code}\n`);
  const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(exit, 0, out);
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  const saved = JSON.parse(readFileSync(tokenFile, 'utf8')) as { id_token: string; refresh_token: string };
  const claims = JSON.parse(Buffer.from(saved.id_token.split('.')[1]!, 'base64url').toString()) as { amr: string[] };
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  assert.ok(saved.refresh_token);
});
