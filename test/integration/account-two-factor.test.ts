// The account page's two-factor section over HTTP: enable, add and remove authenticators, regenerate codes, disable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn, type Page } from '../helpers/http-browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { codeFor, fixedClock, stepStart } from '../helpers/totp.ts';

const T0 = stepStart(); // the real time (whatever the date), rounded down to a TOTP step

/** signs in to /account with the password (and a code when the user has 2FA), as a browser would */
async function accountSession(s: TestServer, user: { email: string; password: string }, code?: () => string): Promise<{ browser: HttpBrowser; page: Page }> {
  const browser = new HttpBrowser();
  const login = await browser.get(`${s.issuer}/account`);
  const page = await signInOnPage(browser, login, user, code);
  assert.equal(page.url, `${s.issuer}/account`, page.body.slice(0, 300));
  return { browser, page };
}

function keyOn(page: Page): string {
  return /<code class="key" id="totp-key">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');
}

async function post(browser: HttpBrowser, page: Page, action: string, fields: Record<string, string>) {
  const f = formOn(page, action);
  return browser.request(f.action, { form: { ...f.fields, ...fields } });
}

test('account 2FA: confirm password → QR and key → code → recovery codes shown once → on; every change audited and mailed', async (t) => {
  const clock = fixedClock(T0);
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const { browser, page } = await accountSession(s, user);
  assert.match(page.body, /Two-factor authentication[\s\S]*Off/);

  const wrongPw = await post(browser, page, '/account/2fa/enroll', { password: 'not my password at all' });
  assert.equal(wrongPw.status, 403);
  assert.match(wrongPw.body, /That password is not right/);

  const enroll = await post(browser, page, '/account/2fa/enroll', { password: user.password });
  assert.equal(enroll.status, 200);
  assert.match(enroll.body, /<svg/);
  const key = keyOn(enroll);
  assert.equal(Buffer.from(key).length, 32, '160-bit key in base32');
  const again = await post(browser, page, '/account/2fa/enroll', { password: user.password });
  assert.notEqual(keyOn(again), key, 'a new secret each time enrollment starts');
  const stored = await s.services.db.selectFrom('totp_credentials').select('secret_sealed').where('user_id', '=', user.id).execute();
  assert.ok(stored.every((r) => !r.secret_sealed.includes(keyOn(again))), 'secrets are encrypted at rest');

  const pending = await s.services.twoFactor.status(user.id);
  assert.equal(pending.enabled, false, 'not active before a code is typed');
  const codes = await post(browser, again, '/account/2fa/activate', { code: codeFor(keyOn(again), clock.now()) });
  assert.equal(codes.status, 200, codes.body.slice(0, 400));
  assert.equal([...codes.body.matchAll(/<li><code>([0-9A-Z-]{29})<\/code><\/li>/g)].length, 10);
  assert.match(codes.body, /download="gatehouse-recovery-codes.txt"/);
  assert.match(codes.body, /I have saved these codes/);
  const after = await browser.follow(await post(browser, codes, '/account/2fa/recovery-codes/saved', { saved: 'yes' }));
  assert.match(after.body, /Two-factor authentication is on/);
  assert.match(after.body, /10 of 10 recovery codes left/);
  assert.doesNotMatch(after.body, /<li><code>[0-9A-Z-]{29}<\/code><\/li>/, 'codes are never shown again');
  assert.doesNotMatch(after.body, new RegExp(keyOn(again).slice(0, 8)), 'the key is never shown again');

  const audit = await s.services.db.selectFrom('audit_events').select('event').where('target_user_id', '=', user.id).execute();
  assert.ok(audit.some((a) => a.event === 'totp.enabled'));
  const mail = await s.services.db.selectFrom('email_outbox').select('subject').where('to_address', '=', user.email).execute();
  assert.ok(mail.some((m) => /two-factor authentication turned on/.test(m.subject)));
});

test('account 2FA: sensitive changes need the password and a second factor; add, remove, regenerate, disable', async (t) => {
  const clock = fixedClock(T0);
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const { enrollTotp } = await import('../helpers/totp.ts');
  const first = await enrollTotp(s.services, user, clock.now());
  clock.advance(30);
  const { browser, page } = await accountSession(s, user, () => codeFor(first.secret, clock.now()));
  clock.advance(30);

  // add a second authenticator: with 2FA on, the password alone is not enough
  const pwOnlyAdd = await post(browser, page, '/account/2fa/enroll', { password: user.password, name: 'Tablet' });
  assert.equal(pwOnlyAdd.status, 403);
  const enroll = await post(browser, page, '/account/2fa/enroll', { password: user.password, name: 'Tablet', code: codeFor(first.secret, clock.now()) });
  const added = await browser.follow(await post(browser, enroll, '/account/2fa/activate', { code: codeFor(keyOn(enroll), clock.now()) }));
  assert.match(added.body, /The authenticator was added/);
  assert.match(added.body, /Tablet/);
  const status = await s.services.twoFactor.status(user.id);
  assert.equal(status.devices.length, 2);

  // regenerate: the password alone is not enough
  const pwOnly = await post(browser, added, '/account/2fa/recovery-codes', { password: user.password, code: '' });
  assert.equal(pwOnly.status, 403);
  clock.advance(30);
  const regen = await post(browser, added, '/account/2fa/recovery-codes', { password: user.password, code: codeFor(first.secret, clock.now()) });
  assert.equal(regen.status, 200);
  assert.equal(await s.services.twoFactor.useRecoveryCode(user, first.recoveryCodes[0]!, {}), 'invalid', 'old codes are dead');

  // remove the tablet
  const tablet = status.devices.find((d) => d.name === 'Tablet')!;
  const confirmPage = await browser.get(`${s.issuer}/account/2fa/devices/${tablet.id}/remove`);
  clock.advance(30);
  const removed = await browser.follow(await post(browser, confirmPage, `/account/2fa/devices/${tablet.id}/remove`, { password: user.password, code: codeFor(first.secret, clock.now()) }));
  assert.match(removed.body, /The authenticator was removed/);

  // disable: a wrong code is refused, a right one turns 2FA off
  const disablePage = await browser.get(`${s.issuer}/account/2fa/disable`);
  const refused = await post(browser, disablePage, '/account/2fa/disable', { password: user.password, code: '123456' });
  assert.equal(refused.status, 403);
  assert.equal((await s.services.twoFactor.status(user.id)).enabled, true);
  clock.advance(30);
  const off = await browser.follow(await post(browser, disablePage, '/account/2fa/disable', { password: user.password, code: codeFor(first.secret, clock.now()) }));
  assert.match(off.body, /Two-factor authentication is off/);
  assert.equal((await s.services.twoFactor.status(user.id)).enabled, false);
  assert.equal((await s.services.twoFactor.status(user.id)).recoveryRemaining, 0);

  const events = (await s.services.db.selectFrom('audit_events').select('event').where('target_user_id', '=', user.id).execute()).map((e) => e.event);
  for (const e of ['totp.device_added', 'recovery_codes.regenerated', 'totp.device_removed', 'totp.disabled']) assert.ok(events.includes(e), e);
  const subjects = (await s.services.db.selectFrom('email_outbox').select('subject').where('to_address', '=', user.email).execute()).map((m) => m.subject);
  for (const w of ['authenticator added', 'new recovery codes', 'authenticator removed', 'turned off']) assert.ok(subjects.some((x) => x.includes(w)), w);
});

test('account page without a session goes through the normal sign-in', async (t) => {
  const s = await startServer(t);
  const res = await new HttpBrowser().request(`${s.issuer}/account`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account/sign-in?return=%2Faccount');
  const post = await new HttpBrowser().request(`${s.issuer}/account/2fa/disable`, { form: { password: 'x', code: '1' } });
  assert.ok([401, 403].includes(post.status), 'no change without a session');
});

test('removing authenticators: two removals at once cannot take both of the last two', async (t) => {
  const clock = fixedClock(T0);
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const { enrollTotp } = await import('../helpers/totp.ts');
  const first = await enrollTotp(s.services, user, clock.now());
  const second = await enrollTotp(s.services, user, clock.now());
  clock.advance(30);
  const devices = (await s.services.twoFactor.status(user.id)).devices;
  assert.equal(devices.length, 2);
  const results = await Promise.allSettled([
    s.services.twoFactor.removeDevice(user, devices[0]!.id, user.password, codeFor(second.secret, clock.now()), {}),
    s.services.twoFactor.removeDevice(user, devices[1]!.id, user.password, codeFor(first.secret, clock.now()), {}),
  ]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status === 'rejected' && (r.reason as Error).message)));
  assert.equal((await s.services.twoFactor.status(user.id)).devices.length, 1, 'one authenticator is left');
});
