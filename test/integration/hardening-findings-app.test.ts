// Issue 13, section 4, our own routes: NUL bytes in every kind of input, /metrics behind a token, and 5xx answers
// that carry our error code (the database's goes to the log).
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { sql } from 'kysely';
import { ConfigError } from '../../src/config/load-config.ts';
import { testConfig } from '../helpers/config.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn, type Page } from '../helpers/http-browser.ts';
import { authorizationRequest, discover, redeem } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';

const NUL = '\u0000';
const csrfOf = (page: Page) => /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;

/** an access token with scope `openid admin` for a user without 2FA, from a real RP (code flow + PKCE) */
async function adminToken(s: TestServer, user: { email: string; password: string }): Promise<string> {
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri, { scope: 'openid admin' });
  const browser = new HttpBrowser();
  const atCallback = (u: string) => u.startsWith(client.redirectUri);
  const form = formOn(await browser.get(req.url, atCallback), '/login');
  const page = await browser.follow(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } }), atCallback);
  assert.ok(atCallback(page.url), page.body.slice(0, 300));
  return (await redeem(config, req, page.url)).access_token;
}

async function apiCall(s: TestServer, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${s.issuer}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? (JSON.parse(text) as Record<string, any>) : null }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

test('nul-bytes-are-400-not-500 in our forms, path parameters and the JSON API; nothing is written', async (t) => {
  const s = await startServer(t);
  const users = async () => Number((await s.services.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const before = await users();
  const browser = new HttpBrowser();
  const expect400 = (res: Page, what: string) => {
    assert.equal(res.status, 400, `${what}: ${res.status} ${res.body.slice(0, 200)}`);
    assert.match(res.body, /not allowed \(NUL/, `${what}: a clear message`);
    assert.match(String(res.headers.get('content-security-policy')), /default-src 'self'/, `${what}: the usual headers`);
  };

  const signup = await browser.get(`${s.issuer}/signup`);
  expect400(await browser.request(`${s.issuer}/signup`, { form: { _csrf: csrfOf(signup), email: `new${NUL}@example.com`, name: 'N', password: 'a long enough passphrase' } }), 'sign-up');
  expect400(await browser.request(`${s.issuer}/signup`, { form: { _csrf: csrfOf(signup), email: 'new@example.com', name: `N${NUL}`, password: 'a long enough passphrase' } }), 'sign-up name');
  const forgot = await browser.get(`${s.issuer}/forgot-password`);
  expect400(await browser.request(`${s.issuer}/forgot-password`, { form: { _csrf: csrfOf(forgot), email: `a${NUL}@example.com` } }), 'forgot-password');
  expect400(await browser.request(`${s.issuer}/forgot-password?return=${encodeURIComponent(NUL)}`), 'a query string');
  expect400(await browser.request(`${s.issuer}/interaction/abc%00def`), 'a path parameter');

  // sign-in
  const user = await makeUser(s.services, { name: 'Nora Null' });
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const login = await browser.get((await authorizationRequest(config, client.redirectUri)).url);
  const form = formOn(login, '/login');
  expect400(await browser.request(form.action, { form: { ...form.fields, email: `${user.email}${NUL}`, password: user.password } }), 'sign-in');
  expect400(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: `${user.password}${NUL}` } }), 'sign-in password');

  // the account pages
  const account = new HttpBrowser();
  const first = await account.get(`${s.issuer}/account`);
  const home = await signInOnPage(account, first, user);
  assert.equal(home.url, `${s.issuer}/account`);
  expect400(await account.request(`${s.issuer}/account/name`, { form: { _csrf: csrfOf(home), name: `Evil${NUL}` } }), 'account name');
  expect400(await account.request(`${s.issuer}/account/email`, { form: { _csrf: csrfOf(home), email: `x${NUL}@example.com`, password: user.password } }), 'account email');

  // the admin console's invitation and the JSON API
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  await s.services.tenants.addMember(tenant, user.email, 'owner', null);
  const console_ = await account.get(`${s.issuer}/admin/acme`);
  expect400(await account.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrfOf(console_), email: `x${NUL}@example.com`, role: 'member' } }), 'admin invite');
  const token = await adminToken(s, user);
  const api = await apiCall(s, token, 'POST', '/tenants/acme/members', { email: `x${NUL}@example.com`, role: 'member' });
  assert.equal(api.status, 400);
  assert.equal(api.body!.error, 'invalid_request');
  const apiQuery = await apiCall(s, token, 'GET', `/tenants/acme/audit?event=${encodeURIComponent(`login${NUL}`)}`);
  assert.equal(apiQuery.status, 400);

  assert.equal(await users(), before + 1, 'only the test user was created');
  assert.equal((await s.services.users.findById(user.id))?.name, 'Nora Null', 'nothing was changed');
  const members = await s.services.db.selectFrom('tenant_members').select('user_id').where('tenant_id', '=', tenant.id).execute();
  assert.equal(members.length, 1, 'nobody was invited');
});

test('metrics-need-the-bearer-token (or, without one, are hidden)', async (t) => {
  const token = 'm'.repeat(40);
  const s = await startServer(t, { env: { GATEHOUSE_METRICS_TOKEN: token } });
  const get = (headers: Record<string, string> = {}) => fetch(`${s.issuer}/metrics`, { headers });
  const none = await get();
  assert.equal(none.status, 401);
  assert.match(String(none.headers.get('www-authenticate')), /^Bearer/);
  assert.equal((await get({ authorization: `Bearer ${'x'.repeat(40)}` })).status, 401);
  const ok = await get({ authorization: `Bearer ${token}` });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /gatehouse_http_requests_total/);

  // no token configured: development serves direct loopback requests only, production nobody
  const dev = await startServer(t);
  assert.equal((await fetch(`${dev.issuer}/metrics`)).status, 200, 'a direct loopback request in development');
  assert.equal((await fetch(`${dev.issuer}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 404, 'through a proxy: as if absent');
  const prod = await startServer(t, { env: { NODE_ENV: 'production', GATEHOUSE_ISSUER: 'https://sso.example.com', SMTP_URL: 'smtp://127.0.0.1:9' } });
  const port = (prod.app.server.address() as { port: number }).port;
  assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404, 'production without a token');

  assert.throws(() => testConfig({ GATEHOUSE_METRICS_TOKEN: 'short' }), (e: unknown) => e instanceof ConfigError && e.variable === 'GATEHOUSE_METRICS_TOKEN');
});

test('server-errors-answer-our-code-and-log-the-database-code', async (t) => {
  const stream = new PassThrough();
  let logs = '';
  stream.on('data', (d) => (logs += d));
  const s = await startServer(t, { logStream: stream });
  const owner = await makeUser(s.services);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  await s.services.tenants.addMember(tenant, owner.email, 'owner', null);
  const token = await adminToken(s, owner);
  // a real database failure with a PostgreSQL error code
  await sql`CREATE FUNCTION refuse_members() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '22021'; END $$`.execute(s.services.db);
  await sql`CREATE TRIGGER refuse_members BEFORE INSERT ON tenant_members FOR EACH ROW EXECUTE FUNCTION refuse_members()`.execute(s.services.db);
  const res = await apiCall(s, token, 'POST', '/tenants/acme/members', { email: 'someone@example.com', role: 'member' });
  assert.equal(res.status, 500);
  assert.equal(res.body!.error, 'server_error');
  assert.ok(!res.text.includes('22021') && !res.text.includes('refused'), res.text);
  await new Promise((r) => setTimeout(r, 100));
  const line = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; cause_code?: string }).find((l) => l.level === 50 && l.msg === 'request failed');
  assert.equal(line?.cause_code, '22021', 'the database code is in the log');
});
