// Issue 13, section 4, the protocol side: consent lists what is released, logout hints, introspection, the device
// page without a session, NUL bytes at the provider's endpoints, and provider errors in the structured log.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runGatehouse } from '../helpers/cli.ts';
import { sql } from 'kysely';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn, type Page } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

async function signedIn(s: TestServer, client: Awaited<ReturnType<typeof makeClient>>, user?: Awaited<ReturnType<typeof makeUser>>) {
  const who = user ?? (await makeUser(s.services));
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri);
  const browser = new HttpBrowser();
  const { callbackUrl } = await signInOverHttp(browser, req.url, client.redirectUri, who);
  assert.ok(callbackUrl, 'signed in');
  return { user: who, config, browser, tokens: await redeem(config, req, callbackUrl) };
}

/** the lines of the consent page's list of what the app gets */
const listItems = (page: Page) => [.../<ul class="scopes">([\s\S]*?)<\/ul>/.exec(page.body)![1]!.matchAll(/<li>([^<]*)<\/li>/g)].map((m) => m[1]!);

/** the headers every HTML page of ours carries */
function assertSecurityHeaders(page: { headers: Headers }, what: string) {
  assert.match(String(page.headers.get('content-security-policy')), /frame-ancestors 'none'/, what);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer', what);
}

test('consent-lists-claims-requested-through-the-claims-parameter', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services, { name: 'Claire Claims' });
  const client = await makeClient(s.services, { firstParty: false });
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri, { scope: 'openid', claims: JSON.stringify({ id_token: { email: null, name: null } }) });
  const browser = new HttpBrowser();
  const atCallback = (u: string) => u.startsWith(client.redirectUri);
  const login = formOn(await browser.get(req.url), '/login');
  const consent = await browser.follow(await browser.request(login.action, { form: { ...login.fields, email: user.email, password: user.password } }), atCallback);
  assert.match(consent.body, /Allow access\?/);
  assert.deepEqual(listItems(consent), ['Know who you are', 'See your email address', 'See your name']);
  const allow = formOn(consent, '/consent');
  const done = await browser.follow(await browser.request(allow.action, { form: allow.fields }), atCallback);
  const claims = (await redeem(config, req, done.url)).claims()!;
  // what the page listed is what the ID token carries
  assert.equal(claims.email, user.email);
  assert.equal(claims.name, 'Claire Claims');
});

test('logout-hint-of-another-session-asks-first', async (t) => {
  const s = await startServer(t);
  const client = await makeClient(s.services);
  const victim = await signedIn(s, client);
  const attacker = await signedIn(s, client);
  const endSession = (hint: string) => oidc.buildEndSessionUrl(victim.config, { id_token_hint: hint }).toString();
  const autoSubmits = (page: Page) => page.body.includes('logout-autosubmit.js');

  // another user's valid ID token, opened in the victim's browser: a question, not a sign-out
  const foreign = await victim.browser.get(endSession(attacker.tokens.id_token!));
  assert.equal(foreign.status, 200);
  assert.ok(!autoSubmits(foreign), 'the page does not submit itself');
  assert.match(foreign.body, /different account or an earlier sign-in/);
  assert.ok(formOn(foreign, '/session/end/confirm'));
  const still = await signInOverHttp(victim.browser, (await authorizationRequest(victim.config, client.redirectUri)).url, client.redirectUri);
  assert.ok(still.callbackUrl, 'the victim is still signed in');

  // the session's own hint: the page submits itself
  const own = await victim.browser.get(endSession(victim.tokens.id_token!));
  assert.ok(autoSubmits(own), 'a hint of this very session signs out without asking');
  const form = formOn(own, '/session/end/confirm');
  await victim.browser.request(form.action, { form: { ...form.fields, logout: 'yes' } });

  // the same user's ID token from an earlier session (another sid): asks again
  const again = await signedIn(s, client, victim.user);
  const stale = await again.browser.get(oidc.buildEndSessionUrl(again.config, { id_token_hint: victim.tokens.id_token! }).toString());
  assert.ok(!autoSubmits(stale), 'an ID token of an earlier session does not sign the new one out');
});

/** `gatehouse client create …` against the test server's database, as an operator would run it */
const cli = (databaseUrl: string, args: string[]) => runGatehouse(databaseUrl, args);

test('introspection-limited-to-own-client-or-resource-server', async (t) => {
  const s = await startServer(t);
  const client = await makeClient(s.services);
  const { tokens, user } = await signedIn(s, client);
  const other = await makeClient(s.services, { firstParty: false });
  const created = await cli(s.databaseUrl, ['client', 'create', '--name', 'Orders API', '--resource-server', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const rs = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  assert.ok(rs.client_secret, 'a resource server is confidential');
  const as = async (c: { clientId: string; clientSecret?: string }, token: string) => oidc.tokenIntrospection(await discover(s.issuer, c), token);

  for (const token of [tokens.access_token, tokens.refresh_token!]) {
    assert.equal((await as(client, token)).active, true, 'the client the token was issued to');
    const foreign = await as(other, token);
    assert.deepEqual(foreign, { active: false }, 'another confidential client learns nothing, not even the subject');
    const api = await as({ clientId: rs.client_id, clientSecret: rs.client_secret }, token);
    assert.equal(api.active, true, 'a registered resource server');
    assert.equal(api.sub, user.id);
  }
  const publicRs = await cli(s.databaseUrl, ['client', 'create', '--name', 'Bad', '--resource-server', '--public', '--redirect-uri', 'http://127.0.0.1:9/cb']);
  assert.notEqual(publicRs.code, 0, 'a public client cannot be a resource server');
});

test('device-page-posted-without-a-session-is-400-with-security-headers', async (t) => {
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  t.mock.method(process.stderr, 'write', (chunk: string | Uint8Array, ...rest: never[]) => {
    errors.push(String(chunk));
    return write(chunk, ...rest);
  });
  const s = await startServer(t);
  const browser = new HttpBrowser();
  for (const cookie of [undefined, '_session=not-a-session; _session.sig=forged']) {
    const res = await browser.request(`${s.issuer}/oidc/device`, { form: { xsrf: 'x', user_code: 'BCDF-GHJK' }, headers: cookie ? { cookie } : {} });
    assert.equal(res.status, 400, `${cookie ?? 'no cookie'}: ${res.body.slice(0, 200)}`);
    assert.match(String(res.headers.get('content-type')), /text\/html/);
    assertSecurityHeaders(res, '/oidc/device');
    assert.match(res.body, /href="\/oidc\/device"/, 'a way to start again');
  }
  // the same for the resume after a device sign-in, and for an authorization resume with a stray query
  const client = await makeClient(s.services);
  for (const url of [`${s.issuer}/oidc/device/abc`, `${s.issuer}/oidc/device/auth`, `${s.issuer}/oidc/auth/abc?client_id=${client.clientId}`]) {
    const res = await browser.request(url);
    assert.equal(res.status, 400, `${url}: ${res.body.slice(0, 200)}`);
    assertSecurityHeaders(res, url);
  }
  // the page itself still works: the input form, then a post with its session is no 400
  const input = await browser.get(`${s.issuer}/oidc/device`);
  const f = formOn(input, '/oidc/device');
  const wrong = await browser.request(f.action, { form: { ...f.fields, user_code: 'BCDF-GHJK' } });
  assert.equal(wrong.status, 200);
  assert.match(wrong.body, /That code is not right/);
  // and a whole device approval (code form, sign-in, resume at /oidc/device/:uid) still works
  const user = await makeUser(s.services);
  const cliClient = await s.services.clients.create({ name: 'CLI', public: true, grantTypes: ['device_code'] });
  const config = await discover(s.issuer, { clientId: cliClient.clientId });
  const auth = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
  const person = new HttpBrowser();
  const codeForm = formOn(await person.get(auth.verification_uri), '/oidc/device');
  const confirm = formOn(await person.request(codeForm.action, { form: { ...codeForm.fields, user_code: auth.user_code } }), '/oidc/device');
  const login = formOn(await person.follow(await person.request(confirm.action, { form: confirm.fields })), '/login');
  let page = await person.follow(await person.request(login.action, { form: { ...login.fields, email: user.email, password: user.password } }));
  if (page.body.includes('/consent"')) {
    const c = formOn(page, '/consent');
    page = await person.follow(await person.request(c.action, { form: c.fields }));
  }
  assert.match(page.body, /Device connected/);
  const tokens = await oidc.pollDeviceAuthorizationGrant(config, { ...auth, interval: 0.1 } as typeof auth);
  assert.equal(tokens.claims()!.sub, user.id);
  assert.ok(!errors.some((e) => /persist can only be called|\n\s+at /.test(e)), `nothing printed on stderr: ${errors.join('')}`);
});

test('nul-bytes-are-400-not-500 at the provider: authorization, token, introspection, revocation', async (t) => {
  const s = await startServer(t);
  const client = await makeClient(s.services);
  const auth = (p: Record<string, string>) => `${s.issuer}/oidc/auth?${new URLSearchParams({ client_id: client.clientId, response_type: 'code', scope: 'openid', redirect_uri: client.redirectUri, code_challenge: 'a'.repeat(43), code_challenge_method: 'S256', ...p })}`;
  for (const url of [auth({ state: 'a\u0000b' }), auth({ client_id: `${client.clientId}\u0000` }), auth({ nonce: '\u0000' })]) {
    const html = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(html.status, 400, url);
    assertSecurityHeaders(html, url);
    assert.match(await html.text(), /not allowed \(NUL/);
    const json = await fetch(url, { redirect: 'manual' });
    assert.equal(json.status, 400);
    assert.equal(((await json.json()) as { error: string }).error, 'invalid_request');
  }
  const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
  const post = async (path: string, body: string) => {
    const res = await fetch(`${s.issuer}/oidc/${path}`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body });
    return { status: res.status, body: (await res.json()) as { error?: string } };
  };
  for (const [path, body] of [
    ['token', 'grant_type=refresh_token&refresh_token=ab%00c'],
    ['token', 'grant_type=authorization_code&code=x%00&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&code_verifier=abc'],
    ['token/introspection', 'token=ab%00c'],
    ['token/revocation', 'token=ab%00c'],
    ['token/introspection', 'token=abc&token_type_hint=access_token%00'],
  ] as const) {
    const res = await post(path, body);
    assert.deepEqual([res.status, res.body.error], [400, 'invalid_request'], `${path} ${body}`);
  }
  // the bodies the provider reads after the guard are intact: a real code flow and introspection still work
  const { tokens, config } = await signedIn(s, client);
  assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, true);
  await oidc.tokenRevocation(config, tokens.access_token);
  assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
});

test('provider-errors-reach-the-structured-log-not-stderr', async (t) => {
  const printed: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  t.mock.method(process.stderr, 'write', (chunk: string | Uint8Array, ...rest: never[]) => {
    printed.push(String(chunk));
    return write(chunk, ...rest);
  });
  const stream = new PassThrough();
  let logs = '';
  stream.on('data', (d) => (logs += d));
  const s = await startServer(t, { logStream: stream });
  // a real failure: the database refuses to store sessions
  await sql`CREATE FUNCTION refuse_sessions() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.model = 'Session' THEN RAISE EXCEPTION 'no sessions today' USING ERRCODE = '53100'; END IF; RETURN NEW; END $$`.execute(s.services.db);
  await sql`CREATE TRIGGER refuse_sessions BEFORE INSERT OR UPDATE ON oidc_payloads FOR EACH ROW EXECUTE FUNCTION refuse_sessions()`.execute(s.services.db);
  const res = await fetch(`${s.issuer}/oidc/device`, { headers: { accept: 'text/html' } });
  assert.equal(res.status, 500);
  assertSecurityHeaders(res, 'error page');
  assert.match(await res.text(), /Something went wrong on our side/);
  await new Promise((r) => setTimeout(r, 100));
  const lines = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string } });
  assert.ok(lines.some((l) => l.level === 50 && l.msg === 'oidc request failed'), 'logged as structured JSON');
  assert.ok(!printed.some((p) => /no sessions today|persist can only be called/.test(p)), `nothing printed outside the log: ${printed.join('')}`);
});
