// Accounts on real email: sign-up, verification, invitation, password reset, throttling, enumeration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClient, makeUser, PASSWORD } from '../helpers/factories.ts';
import { HttpBrowser, formOn, type Page } from '../helpers/http-browser.ts';
import { authorizationRequest, discover, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { linkIn, startSmtpSink } from '../helpers/smtp.ts';
import { enrollTotp } from '../helpers/totp.ts';
import { passwordSignIn } from '../helpers/password-sign-in.ts';

async function withMail(t: Parameters<typeof startServer>[0], env: Record<string, string> = {}) {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  const s = await startServer(t, { env: { SMTP_URL: sink.url, ...env } });
  return { s, sink };
}

async function submit(browser: HttpBrowser, page: Page, action: string, fields: Record<string, string>) {
  const f = formOn(page, action);
  return browser.request(f.action, { form: { ...f.fields, ...fields } });
}

async function signIn(s: TestServer, email: string, password: string) {
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri);
  const browser = new HttpBrowser();
  const r = await signInOverHttp(browser, req.url, client.redirectUri, { email, password });
  return { ...r, config, req, browser, client };
}

test('sign-up → real email → verify → sign in through an RP with email_verified true', async (t) => {
  const { s, sink } = await withMail(t);
  const browser = new HttpBrowser();
  const form = await browser.get(`${s.issuer}/signup`);
  assert.match(form.body, /autocomplete="new-password"/);
  const done = await submit(browser, form, '/signup', { email: 'new.person@example.com', name: 'New Person', password: PASSWORD });
  assert.equal(done.status, 200);
  assert.match(done.body, /Check your email/);
  const mail = await sink.waitFor((m) => /Confirm your email/.test(m.subject));
  const link = linkIn(mail, '/verify-email');
  const before = await signIn(s, 'new.person@example.com', PASSWORD);
  const unverified = await redeem(before.config, before.req, before.callbackUrl!);
  const { oidc } = await import('../helpers/rp.ts');
  assert.equal((await oidc.fetchUserInfo(before.config, unverified.access_token, oidc.skipSubjectCheck)).email_verified, false);

  const confirm = await browser.get(link);
  const verified = await submit(browser, confirm, '/verify-email', {});
  assert.match(verified.body, /Email address confirmed/);
  const after = await signIn(s, 'new.person@example.com', PASSWORD);
  const tokens = await redeem(after.config, after.req, after.callbackUrl!);
  assert.equal((await oidc.fetchUserInfo(after.config, tokens.access_token, oidc.skipSubjectCheck)).email_verified, true);
  // the link is single-use
  const again = await browser.get(link);
  assert.equal(again.status, 400);
});

test('forgot password → email → reset → old password refused, other sessions dead, no session from the reset itself', async (t) => {
  const { s, sink } = await withMail(t);
  const user = await makeUser(s.services);
  const other = await signIn(s, user.email, user.password);
  assert.ok(other.callbackUrl);
  const otherTokens = await redeem(other.config, other.req, other.callbackUrl!);

  const browser = new HttpBrowser();
  const forgot = await browser.get(`${s.issuer}/forgot-password`);
  await submit(browser, forgot, '/forgot-password', { email: user.email });
  const link = linkIn(await sink.waitFor((m) => /Reset your Gatehouse password/.test(m.subject)), '/reset-password');
  const resetPage = await browser.get(link);
  const tooShort = await submit(browser, resetPage, '/reset-password', { password: 'short' });
  assert.equal(tooShort.status, 400);
  assert.match(tooShort.body, /at least 15 characters/);
  const done = await submit(browser, resetPage, '/reset-password', { password: 'a brand new passphrase here' });
  assert.match(done.body, /Your password was changed/);
  assert.equal([...browser.cookies().keys()].some((k) => k.startsWith('_session')), false, 'the reset created no session');

  assert.equal((await signIn(s, user.email, user.password)).callbackUrl, undefined, 'the old password is refused');
  assert.ok((await signIn(s, user.email, 'a brand new passphrase here')).callbackUrl);
  // the session from before is dead: a new authorization request asks for the password again
  const again = await signInOverHttp(other.browser, (await authorizationRequest(other.config, other.client.redirectUri)).url, other.client.redirectUri);
  assert.equal(again.callbackUrl, undefined);
  const { oidc } = await import('../helpers/rp.ts');
  await assert.rejects(oidc.refreshTokenGrant(other.config, otherTokens.refresh_token!), 'refresh tokens were revoked');
  assert.equal((await browser.get(link)).status, 400, 'the reset link is single-use');
  await sink.waitFor((m) => /password reset/.test(m.subject));
});

test('password reset never skips the second factor', async (t) => {
  const { s, sink } = await withMail(t);
  const user = await makeUser(s.services);
  await enrollTotp(s.services, user);
  await s.services.accounts.requestPasswordReset(user.email, {});
  const link = linkIn(await sink.waitFor((m) => /Reset/.test(m.subject)), '/reset-password');
  const browser = new HttpBrowser();
  const done = await submit(browser, await browser.get(link), '/reset-password', { password: 'another long passphrase' });
  assert.equal(done.status, 200);
  const r = await signIn(s, user.email, 'another long passphrase');
  assert.equal(r.callbackUrl, undefined);
  assert.match(r.page.url, /\/totp$/, 'the next sign-in asks for the code');
});

test('links expire: an expired reset link is refused', async (t) => {
  const { s, sink } = await withMail(t);
  const user = await makeUser(s.services);
  await s.services.accounts.requestPasswordReset(user.email, {});
  const link = linkIn(await sink.waitFor((m) => /Reset/.test(m.subject)), '/reset-password');
  await s.services.db.updateTable('email_tokens').set({ expires_at: new Date(Date.now() - 1000) }).execute();
  const page = await new HttpBrowser().get(link);
  assert.equal(page.status, 400);
  assert.match(page.body, /This link has expired/);
  assert.match(page.body, /href="\/forgot-password">Send a new reset link</, 'the next step is offered');
});

test('enumeration: sign-in, sign-up and reset answer the same for existing and unknown addresses', async (t) => {
  const { s } = await withMail(t);
  const user = await makeUser(s.services);
  const normalize = (p: Page) => p.body.replace(/name="_csrf" value="[^"]+"/g, '').replace(/name="client_hint" value="[^"]+"/g, '').replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/X').replace(/value="[^"]*@example.com"/g, '').replace(/[a-z0-9.-]+@example\.com/g, 'EMAIL');

  const known = await signIn(s, user.email, 'wrong password for sure');
  const unknown = await signIn(s, 'nobody-here@example.com', 'wrong password for sure');
  assert.equal(known.page.status, 401);
  assert.equal(unknown.page.status, known.page.status);
  assert.equal(normalize(unknown.page), normalize(known.page));

  for (const [path, fields] of [
    ['/forgot-password', (email: string) => ({ email })],
    ['/signup', (email: string) => ({ email, name: 'X', password: PASSWORD })],
  ] as const) {
    const answers: Page[] = [];
    for (const email of [user.email, 'nobody-here@example.com']) {
      const b = new HttpBrowser();
      answers.push(await submit(b, await b.get(`${s.issuer}${path}`), path, fields(email)));
    }
    assert.equal(answers[0]!.status, answers[1]!.status, path);
    assert.equal(normalize(answers[0]!), normalize(answers[1]!), path);
  }
});

test('password-throttle: the 6th wrong password in a row is refused across two app instances on one database', async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { databaseUrl: a.databaseUrl });
  const user = await makeUser(a.services);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await signIn(i % 2 ? b : a, user.email, `wrong password number ${i}`)).page.status);
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
  const locked = await signIn(a, user.email, user.password);
  assert.equal(locked.callbackUrl, undefined, 'even the right password waits while locked');
  assert.equal(locked.page.status, 429);
  const unknown: number[] = [];
  for (let i = 0; i < 6; i++) unknown.push((await signIn(b, 'ghost@example.com', `wrong ${i}`)).page.status);
  assert.deepEqual(unknown, statuses, 'an unknown address locks the same way (the lock tells nothing)');
});

test('password policy: length in code points, common passwords, context words; reasons shown', async (t) => {
  const s = await startServer(t);
  const { checkPassword } = await import('../../src/domain/users/password-policy.ts');
  const code = (pw: string, ctx = {}) => {
    try {
      checkPassword(pw, ctx);
      return 'ok';
    } catch (e) {
      return (e as { code: string }).code;
    }
  };
  assert.equal(code('a'.repeat(13) + 'b'), 'password_too_short');
  assert.equal(code('correct horse battery staple'), 'ok');
  assert.equal(code('😀'.repeat(14)), 'password_too_short');
  assert.equal(code('😀🙂🎉'.repeat(5)), 'ok', '15 emoji are 15 code points');
  assert.equal(code('😀🙂'.repeat(8)), 'password_common', 'two symbols repeated is a pattern, not a password');
  assert.equal(code('x'.repeat(257)), 'password_too_long');
  assert.equal(code('aaaaaaaaaaaaaaaa'), 'password_common');
  assert.equal(code('qwertyuiopasdfghjkl'), (await import('@zxcvbn-ts/language-common')).dictionary['passwords-common'].includes('qwertyuiopasdfghjkl') ? 'password_common' : 'ok');
  assert.equal(code('gatehousegatehouse'), 'password_context');
  assert.equal(code('jane.doe.1234567890', { email: 'jane.doe@example.com' }), 'password_context');
  assert.equal(code('jane likes long walks', { email: 'jane@example.com' }), 'ok', 'a context word inside a longer passphrase is fine');
  void s;
});

test('invitation: the invited user sets a password from the email and can sign in', async (t) => {
  const { s, sink } = await withMail(t);
  const invited = await s.services.accounts.invite('invitee@example.com', {});
  const link = linkIn(await sink.waitFor((m) => /invited/.test(m.subject)), '/invite');
  const browser = new HttpBrowser();
  const form = await browser.get(link);
  const done = await submit(browser, form, '/invite', { password: 'my invited passphrase', name: 'Invitee' });
  assert.match(done.body, /Welcome to Gatehouse/);
  const row = await s.services.db.selectFrom('users').selectAll().where('id', '=', invited.id).executeTakeFirstOrThrow();
  assert.equal(row.email_verified, true);
  assert.equal(row.name, 'Invitee');
  assert.ok((await signIn(s, 'invitee@example.com', 'my invited passphrase')).callbackUrl);
});

test('ip-throttle: successful sign-ins from one address never add up to a lock; failures across accounts do', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  for (let i = 0; i < 60; i++) {
    const r = await s.services.signInFlow.password(`uid-ok-${i}`, user.email, user.password, { ip: '203.0.113.7' }, {});
    assert.equal(r.outcome, 'done', `sign-in ${i + 1} from one address`);
  }
  const outcomes: string[] = [];
  for (let i = 0; i < 52; i++) outcomes.push((await s.services.signInFlow.password(`uid-bad-${i}`, `someone${i}@example.com`, 'wrong guess here', { ip: '203.0.113.8' }, {})).outcome);
  assert.deepEqual(outcomes.slice(0, 50), Array(50).fill('invalid'), '50 free guesses across accounts');
  assert.equal(outcomes[50], 'throttled', 'then the address waits');
});

test('account page: an app signed in from two browsers is listed once; revoking it kills its tokens', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const client = await makeClient(s.services, { name: 'Photo Printer' });
  const config = await discover(s.issuer, client);
  const tokens = [];
  for (let i = 0; i < 2; i++) {
    const req = await authorizationRequest(config, client.redirectUri);
    const r = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, user);
    tokens.push(await redeem(config, req, r.callbackUrl!));
  }
  const apps = await s.services.accounts.grants(user.id);
  assert.deepEqual(apps.map((a) => a.clientName), ['Photo Printer']);
  await s.services.accounts.revokeApp(user, client.clientId, {});
  const { oidc } = await import('../helpers/rp.ts');
  for (const tk of tokens) await assert.rejects(oidc.refreshTokenGrant(config, tk.refresh_token!));
  assert.deepEqual(await s.services.accounts.grants(user.id), []);
});

test('squatting: an unverified sign-up for someone else\'s address loses its factors and sessions when the owner takes it over', async (t) => {
  const s = await startServer(t);
  // the attacker signs up with the victim's address, never verifies it, and binds their own authenticator
  const squatter = await s.services.users.create({ email: 'victim@corp.example', password: 'attacker passphrase here' });
  await enrollTotp(s.services, squatter);
  const tenant = await s.services.tenants.create({ slug: 'corp', name: 'Corp' });
  const admin = await makeUser(s.services);
  await s.services.tenants.addMember(tenant, admin.email, 'owner', null);
  // an admin invites the address: it takes the invitation path, not a join of the attacker's account
  const r = await s.services.tenants.addMember(tenant, 'victim@corp.example', 'member', admin.id, {});
  assert.equal(r.invited, true);
  const { acceptInvitation } = await import('../helpers/factories.ts');
  await acceptInvitation(s.services, 'victim@corp.example', 'the real owner passphrase');
  assert.equal((await s.services.twoFactor.status(squatter.id)).enabled, false, 'the attacker\'s authenticator is gone');
  assert.equal(await passwordSignIn(s.services.users, 'victim@corp.example', 'attacker passphrase here'), null);
  assert.ok(await passwordSignIn(s.services.users, 'victim@corp.example', 'the real owner passphrase'));
  // a verified account is never offered an invitation (accepting one resets the account)
  await assert.rejects(s.services.accounts.invite(admin.email, {}), (e: { code?: string }) => e.code === 'already_registered');
});
