// Two-factor sign-in over HTTP with a real RP (openid-client) and a real PostgreSQL; the server's clock is injected
// so that TOTP steps are under the test's control.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn, type Page } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

const T0 = stepStart(); // the real time (whatever the date), rounded down to a TOTP step

async function setup(t: Parameters<typeof startServer>[0], opts: { totp?: boolean } = { totp: true }) {
  const clock = fixedClock(T0);
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const enrolled = opts.totp ? await enrollTotp(s.services, user) : undefined;
  clock.advance(30); // the enrollment spent the current step
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  return { s, clock, user, enrolled, client, config };
}

/** n password steps one after another: concurrent password attempts for one account are throttled as guesses */
async function passwordSteps(n: number, step: () => ReturnType<typeof passwordStep>) {
  const out: Awaited<ReturnType<typeof passwordStep>>[] = [];
  for (let i = 0; i < n; i++) out.push(await step());
  return out;
}

/** password step in a fresh browser; returns the browser and the page it lands on */
async function passwordStep(s: TestServer, config: oidc.Configuration, redirectUri: string, user: { email: string; password: string }, params: Record<string, string> = {}) {
  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, redirectUri, params);
  const login = await browser.get(req.url);
  const form = formOn(login, '/login');
  const next = await browser.follow(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } }), (u) => u.startsWith(redirectUri));
  return { browser, req, page: next };
}

async function submitCode(browser: HttpBrowser, page: Page, path: string, code: string, redirectUri: string) {
  const form = formOn(page, path);
  const res = await browser.request(form.action, { form: { ...form.fields, code } });
  return browser.follow(res, (u) => u.startsWith(redirectUri));
}

test('password + TOTP gives amr [pwd, otp, mfa] and the mfa acr; two_factor_enabled in userinfo', async (t) => {
  const { s, clock, user, enrolled, client, config } = await setup(t);
  const { browser, req, page } = await passwordStep(s, config, client.redirectUri, user);
  assert.match(page.url, /\/totp$/, 'after the password comes the code');
  assert.match(page.body, /autocomplete="one-time-code"/);
  const done = await submitCode(browser, page, '/totp', codeFor(enrolled!.secret, clock.now()), client.redirectUri);
  assert.ok(done.url.startsWith(client.redirectUri), done.body.slice(0, 300));
  const tokens = await redeem(config, req, done.url);
  assert.deepEqual(tokens.claims()!.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(tokens.claims()!.acr, 'urn:gatehouse:acr:mfa');
  const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
  assert.equal(info.two_factor_enabled, true);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  assert.deepEqual(refreshed.claims()!.amr, ['pwd', 'otp', 'mfa'], 'a refresh keeps what the sign-in was');
});

test('second-step-binding: skipping the code yields nothing, and a code cannot finish another interaction', async (t) => {
  const { s, clock, user, enrolled, client, config } = await setup(t);
  const a = await passwordStep(s, config, client.redirectUri, user);
  // going back to the provider without the second step: still asked for the code
  const resumed = await a.browser.get(a.req.url, (u) => u.startsWith(client.redirectUri));
  assert.ok(!resumed.url.startsWith(client.redirectUri), 'no code was issued without the second factor');
  // another browser's TOTP form posted with this browser's cookies
  const b = await passwordStep(s, config, client.redirectUri, user);
  const formB = formOn(b.page, '/totp');
  const formA = formOn(a.page, '/totp');
  const cross = await a.browser.request(formB.action, { form: { ...formA.fields, code: codeFor(enrolled!.secret, clock.now()) } });
  assert.equal(cross.status, 400);
  assert.equal(cross.headers.get('location'), null);
});

test('code-attempt-of-another-browser-counts-nothing: a code posted without its sign-in\'s browser is refused before any guess is counted', async (t) => {
  const { s, clock, user, enrolled, client, config } = await setup(t);
  const a = await passwordStep(s, config, client.redirectUri, user);
  const b = await passwordStep(s, config, client.redirectUri, user);
  const formA = formOn(a.page, '/totp');
  for (let i = 0; i < 6; i++) {
    const cross = await a.browser.request(formOn(b.page, '/totp').action, { form: { ...formA.fields, code: '000000' } });
    assert.equal(cross.status, 400);
  }
  const counter = await s.services.db.selectFrom('throttles').select('failures').where('key', '=', `mfa:${user.id}`).executeTakeFirst();
  assert.equal(counter, undefined, 'no guess was counted on the user\'s code counter');
  // and the owner's own code still goes through
  const done = await submitCode(b.browser, b.page, '/totp', codeFor(enrolled!.secret, clock.now()), client.redirectUri);
  assert.ok(done.url.startsWith(client.redirectUri), done.body.slice(0, 300));
});

test('totp-replay: the same code twice → second refused; 20 parallel submissions → exactly one success', async (t) => {
  const { s, clock, user, enrolled, client, config } = await setup(t);
  const code = codeFor(enrolled!.secret, clock.now());
  const first = await passwordStep(s, config, client.redirectUri, user);
  const ok = await submitCode(first.browser, first.page, '/totp', code, client.redirectUri);
  assert.ok(ok.url.startsWith(client.redirectUri));
  const second = await passwordStep(s, config, client.redirectUri, user);
  const replay = await submitCode(second.browser, second.page, '/totp', code, client.redirectUri);
  assert.equal(replay.status, 401);
  assert.match(replay.body, /That code did not work/);

  clock.advance(30);
  const fresh = codeFor(enrolled!.secret, clock.now());
  const flows = await passwordSteps(20, () => passwordStep(s, config, client.redirectUri, user));
  const results = await Promise.all(flows.map((f) => submitCode(f.browser, f.page, '/totp', fresh, client.redirectUri)));
  assert.equal(results.filter((r) => r.url.startsWith(client.redirectUri)).length, 1);
  const replays = await s.services.db.selectFrom('audit_events').select('id').where('event', '=', 'totp.replay').execute();
  assert.ok(replays.length >= 1, 'replays are audited');
});

test('replayed-code-completes-no-sign-in: a refused code leaves its sign-in at the code step, and a fresh code then completes it', async (t) => {
  const { s, clock, user, enrolled, client, config } = await setup(t);
  const code = codeFor(enrolled!.secret, clock.now());
  const first = await passwordStep(s, config, client.redirectUri, user);
  assert.ok((await submitCode(first.browser, first.page, '/totp', code, client.redirectUri)).url.startsWith(client.redirectUri));
  const second = await passwordStep(s, config, client.redirectUri, user);
  const uid = /\/interaction\/([^/]+)\/totp$/.exec(second.page.url)![1]!;
  const replay = await submitCode(second.browser, second.page, '/totp', code, client.redirectUri);
  assert.equal(replay.status, 401);
  // the spent step took nothing with it: the sign-in is still at its code step
  const left = await s.services.db.selectFrom('authn_transactions').select('state').where('uid', '=', uid).executeTakeFirst();
  assert.equal(left?.state, 'second_factor', 'a replayed code completes nothing');
  clock.advance(30);
  const done = await submitCode(second.browser, replay, '/totp', codeFor(enrolled!.secret, clock.now()), client.redirectUri);
  assert.ok(done.url.startsWith(client.redirectUri), done.body.slice(0, 300));
  const tokens = await redeem(config, second.req, done.url);
  assert.deepEqual(tokens.claims()!.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(await s.services.db.selectFrom('authn_transactions').select('uid').where('uid', '=', uid).executeTakeFirst(), undefined, 'completed: taken');
});

test('totp-drift-window: codes from −60/−30/0/+30/+60 s → exactly −30, 0 and +30 accepted', async (t) => {
  const { s, clock, user } = await setup(t, { totp: false });
  const accepted: number[] = [];
  for (const offset of [-60, -30, 0, 30, 60]) {
    // one authenticator per offset, so that the replay guard does not interfere
    await s.services.db.deleteFrom('totp_credentials').where('user_id', '=', user.id).execute();
    const e = await enrollTotp(s.services, user, clock.now());
    clock.advance(90); // well past the step spent by enrollment
    const r = await s.services.totp.verify(user.id, codeFor(e.secret, new Date(clock.now().getTime() + offset * 1000)));
    if (r.ok) accepted.push(offset);
  }
  assert.deepEqual(accepted, [-30, 0, 30]);
});

test('recovery-code-single-use: one code twice and 20 parallel uses → exactly one success; regenerate → old codes refused', async (t) => {
  const { s, user, enrolled, client, config } = await setup(t);
  const [code, other] = enrolled!.recoveryCodes;
  const flows = await passwordSteps(20, () => passwordStep(s, config, client.redirectUri, user));
  const pages = await Promise.all(flows.map((f) => f.browser.get(f.page.url.replace(/\/totp$/, '/recovery-code'))));
  const results = await Promise.all(flows.map((f, i) => submitCode(f.browser, pages[i]!, '/recovery-code', code!, client.redirectUri)));
  assert.equal(results.filter((r) => r.url.endsWith('/enroll')).length, 1, 'exactly one use went through');
  assert.equal(results.filter((r) => r.status === 401 || r.status === 429).length, 19, 'the others were refused (wrong or throttled)');
  await s.services.throttle.success(`mfa:${user.id}`);
  const again = await s.services.twoFactor.useRecoveryCode(user, code!, {});
  assert.equal(again, 'invalid', 'a used code stays used');
  const fresh = await s.services.twoFactor.regenerateRecoveryCodes(user, user.password, other!, {});
  assert.equal(fresh.length, 10);
  for (const old of enrolled!.recoveryCodes.slice(2)) {
    assert.equal(await s.services.twoFactor.useRecoveryCode(user, old, {}), 'invalid');
    await s.services.throttle.success(`mfa:${user.id}`); // this test is about single use, not throttling
  }
  assert.equal(await s.services.twoFactor.useRecoveryCode(user, fresh[0]!.toLowerCase().replace(/-/g, ' '), {}), 'ok', 'any case, any separators');
});

test('recovery reset: lost phone → recovery code → new authenticator → new codes; amr [pwd, mfa]; old secret dead; user mailed', async (t) => {
  const { s, clock, user, enrolled, client, config } = await setup(t);
  const { browser, req, page } = await passwordStep(s, config, client.redirectUri, user);
  const rc = await browser.get(page.url.replace(/\/totp$/, '/recovery-code'));
  const enroll = await submitCode(browser, rc, '/recovery-code', enrolled!.recoveryCodes[0]!, client.redirectUri);
  assert.match(enroll.url, /\/enroll$/);
  assert.match(enroll.body, /<svg/, 'a QR code is drawn inline');
  const key = /<code class="key" id="totp-key">([A-Z2-7 ]+)<\/code>/.exec(enroll.body)![1]!.replace(/ /g, '');
  assert.notEqual(key, enrolled!.secret, 'a new secret');
  const form = formOn(enroll, '/enroll');
  const codesPage = await browser.request(form.action, { form: { ...form.fields, code: codeFor(key, clock.now()) } });
  assert.equal(codesPage.status, 200, codesPage.body.slice(0, 400));
  const codes = [...codesPage.body.matchAll(/<li><code>([0-9A-Z-]{29})<\/code><\/li>/g)].map((m) => m[1]!);
  assert.equal(codes.length, 10);
  const saved = formOn(codesPage, '/recovery-codes');
  const done = await browser.follow(await browser.request(saved.action, { form: { ...saved.fields, saved: 'yes' } }), (u) => u.startsWith(client.redirectUri));
  const tokens = await redeem(config, req, done.url);
  assert.deepEqual(tokens.claims()!.amr, ['pwd', 'mfa'], 'decision D1: a recovery code is a second factor, not an OTP');
  assert.equal(tokens.claims()!.acr, 'urn:gatehouse:acr:mfa');
  clock.advance(30);
  assert.equal((await s.services.totp.verify(user.id, codeFor(enrolled!.secret, clock.now()))).ok, false, 'the lost phone no longer works');
  assert.equal((await s.services.totp.verify(user.id, codeFor(key, clock.now()))).ok, true);
  assert.equal(await s.services.twoFactor.useRecoveryCode(user, enrolled!.recoveryCodes[1]!, {}), 'invalid', 'old codes were replaced');
  const mail = await s.services.db.selectFrom('email_outbox').select('subject').where('to_address', '=', user.email).execute();
  assert.ok(mail.some((m) => /recovery code used/.test(m.subject)));
  assert.ok(mail.some((m) => /two-factor authentication turned on/.test(m.subject)));
});

test('step-up: a password-only SSO session + an RP asking for the mfa acr → TOTP → mfa tokens; prompt=none with a weak session → login_required', async (t) => {
  const { s, clock, user, client, config } = await setup(t, { totp: false });
  // sign in with the password only (no 2FA yet), then enroll
  const first = await passwordStep(s, config, client.redirectUri, user);
  assert.ok(first.page.url.startsWith(client.redirectUri));
  // enrolled from this browser's account page: the session that made the change carries on (credential-epoch.ts)
  const session = await s.services.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Session').where('account_id', '=', user.id).executeTakeFirstOrThrow();
  const pending = await s.services.twoFactor.startEnrollment(user, 'Phone');
  await s.services.twoFactor.activate(user, pending.credentialId, codeFor(pending.secret, clock.now()), { sessionId: session.id });
  const e = { secret: pending.secret };
  clock.advance(30);
  const browser = first.browser;

  const silent = await authorizationRequest(config, client.redirectUri, { prompt: 'none', acr_values: 'urn:gatehouse:acr:mfa' });
  const silentRes = await browser.request(silent.url);
  const location = new URL(String(silentRes.headers.get('location')));
  assert.equal(location.searchParams.get('error'), 'login_required');
  assert.equal(location.searchParams.get('code'), null, 'no code for a session too weak for the request');

  const req = await authorizationRequest(config, client.redirectUri, { acr_values: 'urn:gatehouse:acr:mfa' });
  const login = await browser.get(req.url, (u) => u.startsWith(client.redirectUri));
  assert.ok(!login.url.startsWith(client.redirectUri), 'the weak session is not enough');
  assert.match(login.body, /requires two-factor authentication/);
  const form = formOn(login, '/login');
  const totpPage = await browser.follow(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } }));
  const done = await submitCode(browser, totpPage, '/totp', codeFor(e.secret, clock.now()), client.redirectUri);
  const tokens = await redeem(config, req, done.url);
  assert.equal(tokens.claims()!.acr, 'urn:gatehouse:acr:mfa');
  assert.deepEqual(tokens.claims()!.amr, ['pwd', 'otp', 'mfa']);
});

test('essential acr in the claims parameter also forces the second factor', async (t) => {
  const { s, user, client, config } = await setup(t);
  const claims = JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:gatehouse:acr:mfa' } } });
  const { page } = await passwordStep(s, config, client.redirectUri, user, { claims });
  assert.match(page.url, /\/totp$/);
});

test('enforced enrollment: an RP demanding mfa from a user without 2FA → enrollment → mfa tokens', async (t) => {
  const { s, clock, user, client, config } = await setup(t, { totp: false });
  const { browser, req, page } = await passwordStep(s, config, client.redirectUri, user, { acr_values: 'urn:gatehouse:acr:mfa' });
  assert.match(page.url, /\/enroll$/);
  const key = /<code class="key" id="totp-key">([A-Z2-7 ]+)<\/code>/.exec(page.body)![1]!.replace(/ /g, '');
  const form = formOn(page, '/enroll');
  const wrong = await browser.request(form.action, { form: { ...form.fields, code: '000000' } });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body, /did not match/);
  assert.ok(wrong.body.includes(key.match(/.{1,4}/g)!.join(' ')), 'the same key is shown again after a mistyped code');
  const codesPage = await browser.request(form.action, { form: { ...form.fields, code: codeFor(key, clock.now()) } });
  const notTicked = formOn(codesPage, '/recovery-codes');
  const again = await browser.request(notTicked.action, { form: notTicked.fields });
  assert.equal(again.status, 400, 'the box must be ticked');
  const saved = formOn(again, '/recovery-codes');
  const done = await browser.follow(await browser.request(saved.action, { form: { ...saved.fields, saved: 'yes' } }), (u) => u.startsWith(client.redirectUri));
  const tokens = await redeem(config, req, done.url);
  assert.equal(tokens.claims()!.acr, 'urn:gatehouse:acr:mfa');
});

test('mfa-throttle: 100 wrong codes over parallel interactions never let more than 5 guesses through', async (t) => {
  const { s, clock, user, enrolled, client, config } = await setup(t);
  const flows = await passwordSteps(10, () => passwordStep(s, config, client.redirectUri, user));
  const wrong = codeFor(enrolled!.secret, new Date(clock.now().getTime() + 300_000)); // a real code, but far outside the window
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => submitCode(flows[i % 10]!.browser, flows[i % 10]!.page, '/totp', wrong, client.redirectUri)),
  );
  const checked = await s.services.db.selectFrom('audit_events').select('id').where('event', '=', 'totp.failed').execute();
  assert.equal(checked.length, 5, 'exactly the free attempts were checked');
  assert.equal(results.filter((r) => r.status === 429).length, 95);
  // the right code while locked is refused too (no guess gets through a lock)
  const right = await submitCode(flows[0]!.browser, flows[0]!.page, '/totp', codeFor(enrolled!.secret, clock.now()), client.redirectUri);
  assert.equal(right.status, 429);
  // its authenticator was read beside the refused attempt, but the code was never checked: its step is not spent
  const spent = await s.services.db.selectFrom('totp_credentials').select('last_used_step').where('user_id', '=', user.id).executeTakeFirstOrThrow();
  assert.ok(Number(spent.last_used_step) < Math.floor(clock.now().getTime() / 30_000), 'the refused right code did not spend its step');
  // recovery codes share the counter
  assert.equal(await s.services.twoFactor.useRecoveryCode(user, enrolled!.recoveryCodes[0]!, {}), 'throttled');
});

test('authn-transaction-binding: a step checked for one account cannot move or finish a sign-in swapped to another', async (t) => {
  const { s } = await setup(t, { totp: false });
  const { beginAuthnTransaction, moveAuthnTransaction, takeAuthnTransaction } = await import('../../src/domain/mfa/authn-transaction.ts');
  const b = await makeUser(s.services);
  const a = await makeUser(s.services);
  const uid = 'uid-swap-test';
  const { db, clock } = s.services;
  const checkedForB = { uid, userId: b.id, state: 'enroll' as const, epoch: 0 };
  await beginAuthnTransaction(db, clock, { ...checkedForB, amr: ['pwd', 'otp', 'mfa'], passwordAt: clock.now() }, 600);
  // between B's check and B's next write, a password step for A lands on the same interaction
  await beginAuthnTransaction(db, clock, { uid, userId: a.id, state: 'enroll', amr: ['pwd', 'otp', 'mfa'], passwordAt: clock.now(), epoch: 0 }, 600);
  assert.equal(await moveAuthnTransaction(db, clock, checkedForB, 'recovery_codes', ['pwd', 'otp', 'mfa']), false);
  assert.equal(await takeAuthnTransaction(db, clock, checkedForB), null, 'A\'s sign-in cannot be completed by B\'s step');
  assert.ok(await takeAuthnTransaction(db, clock, { uid, userId: a.id, state: 'enroll', epoch: 0 }), 'A\'s own step still can');
});
