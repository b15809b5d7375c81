// The credential epoch, end to end over real HTTP: a credential change ends every pending thing — sign-ins waiting at
// enrollment or at the grace page, password steps not yet resumed at the provider — and every outstanding email link.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn, type Page } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, type RpClient } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { linkIn, startSmtpSink } from '../helpers/smtp.ts';
import { codeFor, daysFrom, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

async function setup(t: Parameters<typeof startServer>[0]) {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock, env: { SMTP_URL: sink.url } });
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  return { s, sink, clock, client, config };
}

async function submit(browser: HttpBrowser, page: Page, action: string, fields: Record<string, string>) {
  const f = formOn(page, action);
  return browser.request(f.action, { form: { ...f.fields, ...fields } });
}

/** the attacker's browser: the password step of a fresh authorization request, stopped wherever it lands */
async function passwordStep(s: TestServer, config: Awaited<ReturnType<typeof discover>>, client: RpClient, user: { email: string; password: string }) {
  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, client.redirectUri);
  const login = await browser.get(req.url);
  const f = formOn(login, '/login');
  const res = await browser.request(f.action, { form: { ...f.fields, email: user.email, password: user.password } });
  return { browser, req, res };
}

/** the owner resets the password from the emailed link */
async function resetPassword(s: TestServer, sink: Awaited<ReturnType<typeof startSmtpSink>>, email: string, password: string) {
  const owner = new HttpBrowser();
  await submit(owner, await owner.get(`${s.issuer}/forgot-password`), '/forgot-password', { email });
  const link = linkIn(await sink.waitFor((m) => m.to.includes(email) && /Reset your Gatehouse password/.test(m.subject)), '/reset-password');
  const done = await submit(owner, await owner.get(link), '/reset-password', { password });
  assert.match(done.body, /Your password was changed/);
}

/** a user (the victim) in an organization that requires 2FA (from `from`, else now), without 2FA yet */
async function memberOfTenantRequiring2fa(s: TestServer, from?: Date) {
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  const victim = await makeUser(s.services);
  await s.services.tenants.addMember(tenant, victim.email, 'member', null);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, ...(from ? { enforceFrom: from } : {}) }, null);
  return victim;
}

const keyOn = (page: Page) => /<code class="key" id="totp-key">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');

const NEW_PASSWORD = 'the owner took it back again';

test('pending-enrollment-dies-on-reset: an attacker waiting at enrollment cannot enroll after the owner set up 2FA and reset the password', async (t) => {
  const { s, sink, clock, client, config } = await setup(t);
  const victim = await memberOfTenantRequiring2fa(s);

  // the attacker knows the password and stops at the enrollment page, with their own authenticator's key on screen
  const attacker = await passwordStep(s, config, client, victim);
  const enrollPage = await attacker.browser.follow(attacker.res);
  assert.match(enrollPage.url, /\/enroll$/);
  const attackerKey = keyOn(enrollPage);

  // the owner sets up 2FA and resets the password
  const owners = await enrollTotp(s.services, victim, clock.now());
  await resetPassword(s, sink, victim.email, NEW_PASSWORD);

  // the attacker's code for their own key: refused, nothing enrolled, no code for the app
  clock.advance(30);
  const f = formOn(enrollPage, '/enroll');
  const posted = await attacker.browser.follow(await attacker.browser.request(f.action, { form: { ...f.fields, code: codeFor(attackerKey, clock.now()) } }), (u) => u.startsWith(client.redirectUri));
  assert.ok(!posted.url.startsWith(client.redirectUri), 'no authorization code');
  assert.doesNotMatch(posted.body, /recovery codes/i, 'no recovery codes shown to the attacker');
  const devices = await s.services.db.selectFrom('totp_credentials').select('id').where('user_id', '=', victim.id).where('confirmed_at', 'is not', null).execute();
  assert.deepEqual(devices.map((d) => d.id), [owners.credentialId], "only the owner's authenticator remains");
  const again = await attacker.browser.get(attacker.req.url, (u) => u.startsWith(client.redirectUri));
  assert.ok(!again.url.startsWith(client.redirectUri), 'resuming the authorization request yields nothing either');
});

test('pending-enrollment-dies-when-2fa-is-enabled-elsewhere: the first enrollment never replaces an authenticator the account already has', async (t) => {
  const { s, clock, client, config } = await setup(t);
  const victim = await memberOfTenantRequiring2fa(s);
  const attacker = await passwordStep(s, config, client, victim);
  const enrollPage = await attacker.browser.follow(attacker.res);
  const attackerKey = keyOn(enrollPage);
  const owners = await enrollTotp(s.services, victim, clock.now());
  clock.advance(30);
  const f = formOn(enrollPage, '/enroll');
  const posted = await attacker.browser.follow(await attacker.browser.request(f.action, { form: { ...f.fields, code: codeFor(attackerKey, clock.now()) } }), (u) => u.startsWith(client.redirectUri));
  assert.ok(!posted.url.startsWith(client.redirectUri));
  const devices = await s.services.db.selectFrom('totp_credentials').select('id').where('user_id', '=', victim.id).execute();
  assert.deepEqual(devices.map((d) => d.id), [owners.credentialId]);
});

test('grace-page-dies-on-credential-change: a sign-in waiting at the grace reminder cannot go on to enroll or finish', async (t) => {
  const { s, sink, clock, client, config } = await setup(t);
  const victim = await memberOfTenantRequiring2fa(s, daysFrom(clock.now(), 7));
  const attacker = await passwordStep(s, config, client, victim);
  const grace = await attacker.browser.follow(attacker.res);
  assert.match(grace.url, /\/grace$/);
  await enrollTotp(s.services, victim, clock.now());
  await resetPassword(s, sink, victim.email, NEW_PASSWORD);
  for (const choice of ['setup', 'later']) {
    const f = formOn(grace, '/grace');
    const res = await attacker.browser.follow(await attacker.browser.request(f.action, { form: { ...f.fields, choice } }), (u) => u.startsWith(client.redirectUri));
    assert.ok(!res.url.startsWith(client.redirectUri), `"${choice}" yields no code`);
    assert.doesNotMatch(res.url, /\/enroll$/, `"${choice}" does not reach enrollment`);
  }
});

test('password-step-dies-on-reset: a finished password step not yet resumed at the provider issues no code after a reset', async (t) => {
  const { s, sink, client, config } = await setup(t);
  const victim = await makeUser(s.services);
  const attacker = await passwordStep(s, config, client, victim);
  const resume = attacker.res.headers.get('location');
  assert.match(String(resume), /\/oidc\/auth\//, 'the password step is done and points back at the provider');
  await resetPassword(s, sink, victim.email, NEW_PASSWORD);
  const landed = await attacker.browser.follow(attacker.res, (u) => u.startsWith(client.redirectUri));
  assert.ok(!landed.url.startsWith(client.redirectUri), 'no authorization code after the reset');
});

test('sessions-and-refresh-tokens-die-on-credential-change: adding an authenticator from the account page ends other sessions, keeps this one', async (t) => {
  const { s, clock, client, config } = await setup(t);
  const user = await makeUser(s.services);
  const other = await passwordStep(s, config, client, user);
  const otherDone = await other.browser.follow(other.res, (u) => u.startsWith(client.redirectUri));
  assert.ok(otherDone.url.startsWith(client.redirectUri));
  const here = await passwordStep(s, config, client, user);
  await here.browser.follow(here.res, (u) => u.startsWith(client.redirectUri));
  const account = await here.browser.get(`${s.issuer}/account`);
  assert.match(account.body, /Your account/);
  // enable 2FA from this browser's account page
  const start = await submit(here.browser, account, '/account/2fa/enroll', { password: user.password });
  const key = keyOn(start);
  const activated = await submit(here.browser, start, '/account/2fa/activate', { code: codeFor(key, clock.now()) });
  assert.match(activated.body, /Two-factor authentication is on/);
  assert.match((await here.browser.get(`${s.issuer}/account`)).body, /Your account/, 'this browser stays signed in');
  const otherAccount = await other.browser.get(`${s.issuer}/account`);
  assert.doesNotMatch(otherAccount.body, /Your account/, 'the other browser is signed out');
  const silent = await authorizationRequest(config, client.redirectUri, { prompt: 'none' });
  const res = await other.browser.request(silent.url);
  assert.equal(new URL(String(res.headers.get('location'))).searchParams.get('error'), 'login_required');
});

test('email-change-link-dies-on-password-reset: the owner recovering the account kills a pending email change to the attacker', async (t) => {
  const { s, sink, client, config } = await setup(t);
  const user = await makeUser(s.services);
  // someone signed in as the user asks to move the account to their own address
  const attacker = await passwordStep(s, config, client, user);
  await attacker.browser.follow(attacker.res, (u) => u.startsWith(client.redirectUri));
  const account = await attacker.browser.get(`${s.issuer}/account`);
  await submit(attacker.browser, account, '/account/email', { email: 'attacker@example.net', password: user.password });
  const change = linkIn(await sink.waitFor((m) => m.to.includes('attacker@example.net')), '/verify-email-change');
  await resetPassword(s, sink, user.email, NEW_PASSWORD);
  const page = await attacker.browser.get(change);
 assert.equal(page.status, 400, 'the change link is dead');
  const row = await s.services.db.selectFrom('users').select(['email']).where('id', '=', user.id).executeTakeFirstOrThrow();
  assert.equal(row.email, user.email);
});

test('unverified-account-cannot-request-email-change: a squatter on someone else\'s address cannot move the account to theirs', async (t) => {
  const { s } = await setup(t);
  const squatter = await s.services.users.create({ email: 'owner@example.org', password: 'a squatter passphrase 1', name: 'Squatter' });
  await assert.rejects(s.services.accounts.requestEmailChange(squatter, 'a squatter passphrase 1', 'squatter@example.net', {}), { code: 'email_unverified' });
  const links = await s.services.db.selectFrom('email_tokens').select('id').where('user_id', '=', squatter.id).where('purpose', '=', 'change_email').execute();
  assert.equal(links.length, 0);
});

test('reset-link-dies-on-email-change: a reset link sent to the old address stops working once the address changes; the old address is told', async (t) => {
  const { s, sink, client, config } = await setup(t);
  const user = await makeUser(s.services);
  const b = await passwordStep(s, config, client, user);
  await b.browser.follow(b.res, (u) => u.startsWith(client.redirectUri));
  // a reset link goes to the old address
  const anyone = new HttpBrowser();
  await submit(anyone, await anyone.get(`${s.issuer}/forgot-password`), '/forgot-password', { email: user.email });
  const reset = linkIn(await sink.waitFor((m) => m.to.includes(user.email) && /Reset/.test(m.subject)), '/reset-password');
  // the email change is confirmed from the new address
  await submit(b.browser, await b.browser.get(`${s.issuer}/account`), '/account/email', { email: 'new.home@example.net', password: user.password });
  const change = linkIn(await sink.waitFor((m) => m.to.includes('new.home@example.net')), '/verify-email-change');
  const confirmed = await submit(anyone, await anyone.get(change), '/verify-email-change', {});
  assert.match(confirmed.body, /Email address confirmed/);
  const told = await sink.waitFor((m) => m.to.includes(user.email) && /email address changed/i.test(m.raw));
  assert.match(told.raw.replace(/=\r?\n/g, ''), /new\.home@example\.net/);
  assert.equal((await anyone.get(reset)).status, 400, 'the reset link sent to the old address is dead');
});

test('account-disable-ends-everything: a disabled user\'s sessions and refresh tokens die and sign-in is refused; enabling gives nothing back', async (t) => {
  const { s, client, config } = await setup(t);
  const user = await makeUser(s.services);
  const b = await passwordStep(s, config, client, user);
  assert.ok((await b.browser.follow(b.res, (u) => u.startsWith(client.redirectUri))).url.startsWith(client.redirectUri));
  await s.services.users.setDisabled(user.email, true, {});
  const silent = await authorizationRequest(config, client.redirectUri, { prompt: 'none' });
  const res = await b.browser.request(silent.url);
  assert.equal(new URL(String(res.headers.get('location'))).searchParams.get('error'), 'login_required', 'the session is gone');
  const again = await passwordStep(s, config, client, user);
  assert.equal(again.res.status, 401, 'a disabled user cannot sign in');
  await s.services.users.setDisabled(user.email, false, {});
  const back = await passwordStep(s, config, client, user);
  assert.ok((await back.browser.follow(back.res, (u) => u.startsWith(client.redirectUri))).url.startsWith(client.redirectUri));
  const rows = await s.services.db.selectFrom('audit_events').select('event').where('target_user_id', '=', user.id).where('event', 'in', ['user.disabled', 'user.enabled']).orderBy('id').execute();
  assert.deepEqual(rows.map((r) => r.event), ['user.disabled', 'user.enabled']);
});

test('enrollment-inside-a-sign-in-over-an-existing-session-completes: the sign-in making the change carries on under the new epoch', async (t) => {
  const { s, clock, client, config } = await setup(t);
  const user = await makeUser(s.services);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  // a password-only session first; then the organization starts requiring 2FA
  const first = await passwordStep(s, config, client, user);
  assert.ok((await first.browser.follow(first.res, (u) => u.startsWith(client.redirectUri))).url.startsWith(client.redirectUri));
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);
  // the same browser comes back: sign in again (over its session), enroll, save the codes, get a code for the app
  const req = await authorizationRequest(config, client.redirectUri);
  const login = await first.browser.get(req.url, (u) => u.startsWith(client.redirectUri));
  const f = formOn(login, '/login');
  const enroll = await first.browser.follow(await first.browser.request(f.action, { form: { ...f.fields, email: user.email, password: user.password } }));
  assert.match(enroll.url, /\/enroll$/);
  const ef = formOn(enroll, '/enroll');
  const codes = await first.browser.request(ef.action, { form: { ...ef.fields, code: codeFor(keyOn(enroll), clock.now()) } });
  const saved = formOn(codes, '/recovery-codes');
  const done = await first.browser.follow(await first.browser.request(saved.action, { form: { ...saved.fields, saved: 'yes' } }), (u) => u.startsWith(client.redirectUri));
  assert.ok(done.url.startsWith(client.redirectUri), `the sign-in finishes (ended at ${done.url}: ${done.body.slice(0, 200)})`);
  assert.ok(new URL(done.url).searchParams.get('code'));
});
