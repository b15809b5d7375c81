// Tenant 2FA requirement enforced on every path that creates a session or issues a token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn, type Page } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { TEST_COOKIE_KEY, TEST_ENCRYPTION_KEYS } from '../helpers/config.ts';
import { codeFor, daysFrom, enrollTotp, fixedClock, isoDay, stepStart } from '../helpers/totp.ts';

const T0 = stepStart(); // the real time (whatever the date), rounded down to a TOTP step

async function setup(t: Parameters<typeof startServer>[0]) {
  const clock = fixedClock(T0);
  const s = await startServer(t, { clock });
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  const user = await makeUser(s.services);
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  return { s, clock, tenant, user, client, config };
}

async function passwordStep(browser: HttpBrowser, s: TestServer, url: string, redirectUri: string, user: { email: string; password: string }) {
  const login = await browser.get(url, (u) => u.startsWith(redirectUri));
  if (login.url.startsWith(redirectUri)) return login;
  const form = formOn(login, '/login');
  return browser.follow(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } }), (u) => u.startsWith(redirectUri));
}

/** on the enrollment page: read the key, type a code, tick the box; returns the page after (the callback) */
async function enrollThroughPage(browser: HttpBrowser, page: Page, at: Date, redirectUri: string) {
  const key = /<code class="key" id="totp-key">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');
  const form = formOn(page, '/enroll');
  const codes = await browser.request(form.action, { form: { ...form.fields, code: codeFor(key, at) } });
  const saved = formOn(codes, '/recovery-codes');
  return { key, done: await browser.follow(await browser.request(saved.action, { form: { ...saved.fields, saved: 'yes' } }), (u) => u.startsWith(redirectUri)) };
}

test('enforcement: a member of a 2FA tenant without 2FA → password → forced enrollment → mfa tokens; nothing before', async (t) => {
  const { s, clock, tenant, user, client, config } = await setup(t);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);
  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, client.redirectUri, { scope: 'openid tenants' });
  const page = await passwordStep(browser, s, req.url, client.redirectUri, user);
  assert.match(page.url, /\/enroll$/, 'taken straight to enrollment');
  assert.match(page.body, /requires two-factor authentication/);
  // leaving the enrollment page for the provider yields no code
  const skip = await browser.get(req.url, (u) => u.startsWith(client.redirectUri));
  assert.ok(!skip.url.startsWith(client.redirectUri), 'no code before enrollment');
  const fresh = await browser.get(`${page.url}`);
  const { done } = await enrollThroughPage(browser, fresh, clock.now(), client.redirectUri);
  const tokens = await redeem(config, req, done.url);
  assert.equal(tokens.claims()!.acr, 'urn:gatehouse:acr:mfa');
  assert.deepEqual(tokens.claims()!.amr, ['pwd', 'otp', 'mfa']);
  const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
  assert.deepEqual(info.tenants, [{ id: tenant.id, slug: 'acme', name: 'Acme', role: 'member', requires_2fa: true }]);
});

test('enforcement-existing-sessions: turning the requirement on kills silent sign-in, refresh and access tokens of password-only sessions', async (t) => {
  const { s, tenant, user, client, config } = await setup(t);
  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, client.redirectUri);
  const cb = await passwordStep(browser, s, req.url, client.redirectUri, user);
  const tokens = await redeem(config, req, cb.url);
  assert.deepEqual(tokens.claims()!.amr, ['pwd']);
  await oidc.fetchUserInfo(config, tokens.access_token, user.id);

  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);

  const silent = await browser.request((await authorizationRequest(config, client.redirectUri, { prompt: 'none' })).url);
  const loc = new URL(String(silent.headers.get('location')));
  assert.equal(loc.searchParams.get('error'), 'login_required');
  assert.equal(loc.searchParams.get('code'), null);
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!), (e: { error?: string }) => e.error === 'invalid_grant');
  await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, user.id), 'the access token no longer works');
  // SSO reuse: the existing session is not enough, the sign-in is redone
  const sso = await browser.get((await authorizationRequest(config, client.redirectUri)).url, (u) => u.startsWith(client.redirectUri));
  assert.ok(!sso.url.startsWith(client.redirectUri));
  assert.match(sso.body, /autocomplete="current-password"/);
});

test('grace period (injected clock): before the date a reminder and "later"; after it enrollment is forced; a member\'s deadline does not move', async (t) => {
  const { s, clock, tenant, user, client, config } = await setup(t);
  const deadline = daysFrom(T0, 7);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, enforceFrom: deadline }, null);

  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, client.redirectUri);
  const grace = await passwordStep(browser, s, req.url, client.redirectUri, user);
  assert.match(grace.url, /\/grace$/);
  assert.ok(grace.body.includes(deadline.toISOString().slice(0, 10)), 'the banner shows the deadline');
  assert.match(grace.body, /Set up now/);
  const later = formOn(grace, '/grace');
  const forms = [...grace.body.matchAll(/name="choice" value="(\w+)"/g)].map((m) => m[1]);
  assert.deepEqual(forms, ['setup', 'later']);
  const done = await browser.follow(await browser.request(later.action, { form: { ...later.fields, choice: 'later' } }), (u) => u.startsWith(client.redirectUri));
  const tokens = await redeem(config, req, done.url);
  assert.deepEqual(tokens.claims()!.amr, ['pwd'], 'during the grace period a password sign-in still works');

  const members = await s.services.tenants.members(await s.services.tenants.bySlug('acme'));
  assert.equal(members.members[0]!.state, 'pending');
  // the admin moves the date later: this member's deadline, already shown, stays
  const row = await s.services.db.selectFrom('tenant_members').select('mfa_deadline').where('user_id', '=', user.id).executeTakeFirstOrThrow();
  assert.equal(row.mfa_deadline?.toISOString(), deadline.toISOString(), 'persisted');

  clock.set(new Date(deadline.getTime() + 1000));
  const b2 = new HttpBrowser();
  const req2 = await authorizationRequest(config, client.redirectUri);
  const forced = await passwordStep(b2, s, req2.url, client.redirectUri, user);
  assert.match(forced.url, /\/enroll$/, 'after the deadline enrollment is forced');
  assert.equal((await s.services.tenants.members(await s.services.tenants.bySlug('acme'))).members[0]!.state, 'overdue');
});

test('a client of a tenant applies its rule to everyone; a client can require the mfa acr by itself', async (t) => {
  const { s, tenant, config: _unused } = await setup(t);
  void _unused;
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);
  const outsider = await makeUser(s.services);
  const privateApp = await makeClient(s.services, { tenantId: tenant.id });
  const strictApp = await makeClient(s.services, { requireMfa: true });
  const openApp = await makeClient(s.services);
  for (const [app, expectEnroll] of [[privateApp, true], [strictApp, true], [openApp, false]] as const) {
    const config = await discover(s.issuer, app);
    const r = await signInOverHttp(new HttpBrowser(), (await authorizationRequest(config, app.redirectUri)).url, app.redirectUri, outsider);
    if (expectEnroll) assert.match(r.page.url, /\/enroll$/, `${app.clientId} requires 2FA`);
    else assert.ok(r.callbackUrl, 'an app without a rule lets a password sign-in through');
  }
});

test('the last factor cannot be removed while a tenant requires 2FA', async (t) => {
  const { s, clock, tenant, user } = await setup(t);
  const e = await enrollTotp(s.services, user, clock.now());
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);
  clock.advance(30);
  await assert.rejects(s.services.twoFactor.disable(user, user.password, codeFor(e.secret, clock.now()), {}), (err: { code?: string }) => err.code === 'two_factor_required');
  assert.equal((await s.services.twoFactor.status(user.id)).enabled, true);
});

test('admin 2FA reset: the member\'s old TOTP and codes are dead, sessions ended, mail sent, audited with actor, target and reason', async (t) => {
  const { s, clock, tenant, user, client, config } = await setup(t);
  const admin = await makeUser(s.services);
  await s.services.tenants.addMember(tenant, admin.email, 'admin', null);
  const adminTotp = await enrollTotp(s.services, admin, clock.now());
  const member = await enrollTotp(s.services, user, clock.now());
  clock.advance(30);
  // the member holds a session and tokens
  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, client.redirectUri);
  const totpPage = await passwordStep(browser, s, req.url, client.redirectUri, user);
  const f = formOn(totpPage, '/totp');
  const cb = await browser.follow(await browser.request(f.action, { form: { ...f.fields, code: codeFor(member.secret, clock.now()) } }), (u) => u.startsWith(client.redirectUri));
  const tokens = await redeem(config, req, cb.url);
  clock.advance(30);
  await assert.rejects(s.services.tenants.resetMemberTwoFactor(tenant, admin, user.id, '000000', 'lost phone', {}), (e: { code?: string }) => e.code === 'second_factor_invalid');
  await s.services.tenants.resetMemberTwoFactor(tenant, admin, user.id, codeFor(adminTotp.secret, clock.now()), 'lost phone, ticket 42', {});
  assert.equal((await s.services.twoFactor.status(user.id)).enabled, false);
  assert.equal(await s.services.twoFactor.useRecoveryCode(user, member.recoveryCodes[0]!, {}), 'invalid');
  await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token!));
  const again = await browser.get((await authorizationRequest(config, client.redirectUri)).url, (u) => u.startsWith(client.redirectUri));
  assert.ok(!again.url.startsWith(client.redirectUri), 'signed out everywhere');
  const audit = await s.services.db.selectFrom('audit_events').selectAll().where('event', '=', 'tenant.member_2fa_reset').executeTakeFirstOrThrow();
  assert.equal(audit.actor_user_id, admin.id);
  assert.equal(audit.target_user_id, user.id);
  assert.equal(audit.tenant_id, tenant.id);
  assert.equal((audit.data as { reason: string }).reason, 'lost phone, ticket 42');
  const mail = await s.services.db.selectFrom('email_outbox').select('subject').where('to_address', '=', user.email).execute();
  assert.ok(mail.some((m) => /reset by an administrator/.test(m.subject)));
});

test('CLI: tenant create, update --require-2fa on --from, add-member, client create --tenant', async (t) => {
  const s = await startServer(t);
  // as `gatehouse user create` makes it: a password, the address not verified; the operator adds it directly
  const user = await s.services.users.create({ email: 'first-admin@example.com', password: 'a long passphrase of yours' });
  const env = { ...process.env, DATABASE_URL: s.databaseUrl, GATEHOUSE_COOKIE_KEYS: TEST_COOKIE_KEY, GATEHOUSE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS, LOG_LEVEL: 'silent' };
  const run = (args: string[]) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      const c = spawn(process.execPath, ['bin/gatehouse.js', ...args, '--json'], { env });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => (out += d));
      c.stderr.on('data', (d) => (err += d));
      c.on('exit', (code) => resolve({ code: code ?? 1, out, err }));
    });
  assert.equal((await run(['tenant', 'create', '--slug', 'globex', '--name', 'Globex'])).code, 0);
  const from = isoDay(daysFrom(T0, 51));
  const upd = await run(['tenant', 'update', 'globex', '--require-2fa', 'on', '--from', from]);
  assert.equal(upd.code, 0, upd.err);
  assert.deepEqual(JSON.parse(upd.out), { slug: 'globex', name: 'Globex', require_2fa: true, enforce_from: `${from}T00:00:00.000Z`, token_max_days: null, shortened: 0 });
  const add = await run(['tenant', 'add-member', 'globex', '--email', user.email, '--role', 'admin']);
  assert.equal(add.code, 0, add.err);
  const c = await run(['client', 'create', '--name', 'Globex app', '--redirect-uri', 'https://globex.example/cb', '--tenant', 'globex']);
  assert.equal(c.code, 0, c.err);
  const tenant = await s.services.tenants.bySlug('globex');
  assert.equal(await s.services.tenants.clientTenant(JSON.parse(c.out).client_id), tenant.id);
  assert.equal(await s.services.tenants.roleOf(tenant.id, user.id), 'admin');
  assert.equal((await run(['tenant', 'update', 'nope', '--require-2fa', 'on'])).code, 1, 'an unknown slug is a clear error');
});
