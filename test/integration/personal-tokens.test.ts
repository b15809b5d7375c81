// Personal access tokens over real HTTP: made from a fresh, strong enough sign-in on the account page, validated by a
// resource server at the standard introspection endpoint with their provenance, and dead whenever they should be.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPersonalToken } from '../../src/domain/tokens/personal-token-format.ts';
import { makeUser } from '../helpers/factories.ts';
import { formOn, type Page } from '../helpers/http-browser.ts';
import { HttpBrowser } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

async function submit(browser: HttpBrowser, page: Page, action: string, fields: Record<string, string>) {
  const f = formOn(page, action);
  return browser.request(f.action, { form: { ...f.fields, ...fields } });
}

/** the create form (action exactly /account/tokens), if the page offers it */
function createForm(page: Page) {
  if (!/<form method="post" action="\/account\/tokens">/.test(page.body)) throw new Error(`no create form on ${page.url}`);
  return formOn(page, '/account/tokens');
}

async function setup(t: Parameters<typeof startServer>[0]) {
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const rs = await s.services.clients.create({ name: 'Orders API', resourceServer: true });
  const user = await makeUser(s.services);
  const totp = await enrollTotp(s.services, user, clock.now());
  return { s, clock, user, totp, rs };
}

/** signs in to /account with password + TOTP; returns the tokens page */
async function tokensPage(s: TestServer, clock: ReturnType<typeof fixedClock>, user: { email: string; password: string }, secret: string) {
  const browser = new HttpBrowser();
  const login = await browser.get(`${s.issuer}/account/tokens`);
  const totpPage = await browser.follow(await submit(browser, login, '/login', { email: user.email, password: user.password }));
  clock.advance(30);
  await browser.follow(await submit(browser, totpPage, '/totp', { code: codeFor(secret, clock.now()) }));
  return { browser, page: await browser.get(`${s.issuer}/account/tokens`) };
}

async function createToken(browser: HttpBrowser, page: Page, fields: { name: string; days?: string; tenant?: string }) {
  const f = createForm(page);
  const body = new URLSearchParams({ ...f.fields, name: fields.name, days: fields.days ?? '7', ...(fields.tenant ? { tenant: fields.tenant } : {}) });
  body.append('scope', 'openid');
  body.append('scope', 'api');
  const res = await fetch(f.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie: cookieHeader(browser) }, body, redirect: 'manual' });
  const html = await res.text();
  return { status: res.status, html, token: /<code id="new-token">([^<]+)<\/code>/.exec(html)?.[1] };
}

function cookieHeader(browser: HttpBrowser): string {
  return [...browser.cookies()].map(([k, v]) => `${k.split('|')[0]}=${v}`).join('; ');
}

async function introspect(s: TestServer, rs: { clientId: string; clientSecret?: string }, token: string) {
  const res = await fetch(`${s.issuer}/oidc/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${rs.clientId}:${rs.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

test('personal-token-carries-its-provenance: made from a 2FA sign-in, introspected by a resource server with amr/acr/auth_time', async (t) => {
  const { s, clock, user, totp, rs } = await setup(t);
  const { browser, page } = await tokensPage(s, clock, user, totp.secret);
  const made = await createToken(browser, page, { name: 'deploy script' });
  assert.equal(made.status, 200, made.html.slice(0, 300));
  assert.ok(made.token && isPersonalToken(made.token), 'gat_ prefix, 192 random bits and a checksum');
  assert.match(made.token!, /^gat_[0-9A-Za-z]{39}$/);
  const info = await introspect(s, rs, made.token!);
  assert.equal(info.active, true);
  assert.equal(info.sub, user.id);
  assert.equal(info.client_id, 'gatehouse-personal-token');
  assert.equal(info.scope, 'openid api');
  assert.deepEqual(info.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(info.acr, 'urn:gatehouse:acr:mfa');
  assert.equal(typeof info.auth_time, 'number');
  assert.ok((info.exp as number) - (info.iat as number) === 7 * 86400, 'default lifetime 7 days');
  // stored only as a digest; shown once
  const row = await s.services.db.selectFrom('personal_tokens').selectAll().executeTakeFirstOrThrow();
  assert.notEqual(row.token_sha256, made.token);
  assert.ok(!(await browser.get(`${s.issuer}/account/tokens`)).body.includes(made.token!), 'not shown again');
  // a look-alike, an unknown token and a revoked one all answer the same
  const lookAlike = `${made.token!.slice(0, -1)}${made.token!.endsWith('x') ? 'y' : 'x'}`;
  assert.deepEqual(await introspect(s, rs, lookAlike), { active: false });
  const list = await browser.get(`${s.issuer}/account/tokens`);
  const revoked = await browser.follow(await submit(browser, list, `/account/tokens/${row.id}/revoke`, {}));
  assert.match(revoked.body, /The token was revoked/);
  assert.deepEqual(await introspect(s, rs, made.token!), { active: false });
  // creation is audited and mailed
  const mail = await s.services.db.selectFrom('email_outbox').select('text_body').where('to_address', '=', user.email).execute();
  assert.ok(mail.some((m) => /personal access token named "deploy script" was created/.test(m.text_body)));
});

test('personal-token-needs-a-fresh-sign-in: after 15 minutes the page asks to sign in again, and the POST is refused', async (t) => {
  const { s, clock, user, totp } = await setup(t);
  const { browser, page } = await tokensPage(s, clock, user, totp.secret);
  assert.ok(createForm(page));
  clock.advance(16 * 60);
  const stale = await browser.get(`${s.issuer}/account/tokens`);
  assert.match(stale.body, /Sign in again/);
  const made = await createToken(browser, page, { name: 'too late' });
  assert.equal(made.status, 403);
  assert.equal(made.token, undefined);
  assert.match(made.html, /Sign in again/);
});

test('personal-token-dies-with-the-credential-epoch: disabling the account ends it, and enabling it again does not bring it back', async (t) => {
  const { s, clock, user, totp, rs } = await setup(t);
  const { browser, page } = await tokensPage(s, clock, user, totp.secret);
  const made = await createToken(browser, page, { name: 'ci' });
  assert.equal((await introspect(s, rs, made.token!)).active, true);
  await s.services.users.setDisabled(user.email, true, {});
  await s.services.users.setDisabled(user.email, false, {});
  assert.deepEqual(await introspect(s, rs, made.token!), { active: false });
});

test('personal-token-expires-and-follows-organization-rules: bound tokens die when the member leaves; a new 2FA requirement stops password-only tokens; the organization maximum refuses 8 days', async (t) => {
  const { s, clock, user, totp, rs } = await setup(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  await s.services.db.updateTable('tenants').set({ token_max_days: 7 }).where('id', '=', tenant.id).execute();
  const { browser, page } = await tokensPage(s, clock, user, totp.secret);
  const tooLong = await createToken(browser, page, { name: 'too long', tenant: 'acme', days: '8' });
  assert.equal(tooLong.status, 400);
  assert.match(tooLong.html, /within 1 to 7 days/);
  const bound = await createToken(browser, page, { name: 'acme ci', tenant: 'acme', days: '7' });
  const info = await introspect(s, rs, bound.token!);
  assert.equal(info.tenant, 'acme');
  // expiry: the clock moves past it
  clock.advance(7 * 86400 + 60);
  assert.deepEqual(await introspect(s, rs, bound.token!), { active: false }, 'expired');
  clock.set(new Date(clock.now().getTime() - (7 * 86400 + 60) * 1000));
  assert.equal((await introspect(s, rs, bound.token!)).active, true);
  await s.services.tenants.removeMember(tenant, user.id, null);
  assert.deepEqual(await introspect(s, rs, bound.token!), { active: false }, 'the member left the organization');

  // a password-only token of a user without 2FA, then their organization starts requiring 2FA
  const plain = await makeUser(s.services);
  const t2 = await s.services.tenants.create({ slug: 'globex', name: 'Globex' });
  await s.services.tenants.addMember(t2, plain.email, 'member', null);
  const made = await s.services.personalTokens.create(plain, { amr: ['pwd'], acr: 'urn:gatehouse:acr:pwd', authTime: Math.floor(clock.now().getTime() / 1000) }, { name: 'pwd only', scopes: ['openid'] }, {});
  assert.equal((await introspect(s, rs, made.token)).active, true);
  await s.services.tenants.updatePolicy(t2, { require2fa: true }, null);
  assert.deepEqual(await introspect(s, rs, made.token), { active: false }, 'its provenance lacks mfa');
});

test('personal-token-revoked-at-the-standard-revocation-endpoint-is-dead: its holder revokes it (RFC 7009); the personal-token client introspects nothing', async (t) => {
  const { s, clock, user, rs } = await setup(t);
  const made = await s.services.personalTokens.create(user, { amr: ['pwd', 'otp', 'mfa'], acr: 'urn:gatehouse:acr:mfa', authTime: Math.floor(clock.now().getTime() / 1000) }, { name: 'leaked', scopes: ['openid'] }, {});
  const asPatClient = (path: string) => fetch(`${s.issuer}/oidc/token/${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: made.token, client_id: 'gatehouse-personal-token' }) });
  assert.deepEqual(await (await asPatClient('introspection')).json(), { active: false }, 'only resource servers introspect personal tokens');
  assert.equal((await introspect(s, rs, made.token)).active, true);
  assert.equal((await asPatClient('revocation')).status, 200);
  assert.deepEqual(await introspect(s, rs, made.token), { active: false });
  const row = await s.services.db.selectFrom('personal_tokens').select('revoked_at').executeTakeFirstOrThrow();
  assert.ok(row.revoked_at, 'recorded as revoked');
});
