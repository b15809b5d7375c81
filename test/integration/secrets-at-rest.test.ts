// Secrets at rest: after a full flow (sign-up mail, sign-in with TOTP, code, tokens, refresh, device flow, a reset
// link), a dump of every table holds none of the secrets the test used; and password guessing is throttled on every
// door that takes a password, without letting anyone lock the owner out of their own browser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dumpDatabase } from '../helpers/db-dump.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn, type Page } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { startSmtpSink } from '../helpers/smtp.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

async function submit(browser: HttpBrowser, page: Page, action: string, fields: Record<string, string>) {
  const f = formOn(page, action);
  return browser.request(f.action, { form: { ...f.fields, ...fields } });
}

test('no-secrets-at-rest: a database dump after a full flow contains no token, code, cookie, link or password the flow used', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock, env: { SMTP_URL: sink.url } });
  const user = await makeUser(s.services);
  const totp = await enrollTotp(s.services, user, clock.now());
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const cli = await s.services.clients.create({ name: 'CLI', public: true, grantTypes: ['device_code', 'refresh_token'] });
  const cliConfig = await discover(s.issuer, { clientId: cli.clientId });

  // sign in with password + TOTP, redeem the code, refresh once
  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, client.redirectUri, { scope: 'openid email' });
  const login = await browser.get(req.url);
  const totpPage = await browser.follow(await submit(browser, login, '/login', { email: user.email, password: user.password }));
  clock.advance(30);
  const callback = await browser.follow(await submit(browser, totpPage, '/totp', { code: codeFor(totp.secret, clock.now()) }), (u) => u.startsWith(client.redirectUri));
  const code = new URL(callback.url).searchParams.get('code')!;
  const tokens = await redeem(config, req, callback.url);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);

  // a device authorization in flight, and a password-reset link in the mail
  const device = await oidc.initiateDeviceAuthorization(cliConfig, { scope: 'openid' });
  const anyone = new HttpBrowser();
  await submit(anyone, await anyone.get(`${s.issuer}/forgot-password`), '/forgot-password', { email: user.email });
  const mail = await sink.waitFor((m) => m.to.includes(user.email) && /Reset/.test(m.subject));
  const resetToken = /token=3D([A-Za-z0-9_-]+)|token=([A-Za-z0-9_-]+)/.exec(mail.raw.replace(/=\r?\n/g, ''))!.slice(1).find(Boolean)!;
  // the outbox row is kept, without the link's secret, once delivered
  await waitUntil(async () => Boolean(await s.services.db.selectFrom('email_outbox').select('id').where('to_address', '=', user.email).where('subject', 'like', '%Reset%').where('sent_at', 'is not', null).executeTakeFirst()));

  // a second sign-in started from the signed-in browser (its interaction knows the browser's session)
  const again = await authorizationRequest(config, client.redirectUri, { prompt: 'login' });
  assert.match((await browser.get(again.url)).body, /Sign in/);

  // a personal access token
  const pat = await s.services.personalTokens.create(user, { amr: ['pwd', 'otp', 'mfa'], acr: 'urn:gatehouse:acr:mfa', authTime: Math.floor(clock.now().getTime() / 1000) }, { name: 'ci', scopes: ['openid'] }, {});

  const sessionCookie = cookie(browser, '_session');
  const secrets: Record<string, string> = {
    password: user.password,
    'TOTP secret': totp.secret,
    'recovery code': totp.recoveryCodes[0]!.replace(/-/g, ''),
    'authorization code': code,
    'access token': tokens.access_token,
    'refresh token (first)': tokens.refresh_token!,
    'refresh token (rotated)': refreshed.refresh_token!,
    'access token (refreshed)': refreshed.access_token,
    'device code': device.device_code,
    'device user code': device.user_code,
    'session cookie': sessionCookie,
    'reset link token': resetToken,
    'personal access token': pat.token,
  };
  for (const [name, value] of Object.entries(secrets)) assert.ok(value && value.length >= 8, `${name} was captured`);
  const dump = await dumpDatabase(s.services.db);
  assert.ok(dump.includes(user.email), 'the dump is real');
  for (const [name, value] of Object.entries(secrets)) assert.ok(!dump.includes(value), `${name} is not stored as such: ${dump.split('\n').find((r) => r.includes(value))?.slice(0, 600)}`);
});

/** a cookie's value by name, whatever its path */
function cookie(browser: HttpBrowser, name: string): string {
  return [...browser.cookies()].find(([k]) => k.split('|')[0] === name)?.[1] ?? '';
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function signedInAccount(s: TestServer, user: { email: string; password: string }) {
  const browser = new HttpBrowser();
  const page = await browser.get(`${s.issuer}/account`);
  const account = await browser.follow(await submit(browser, page, '/login', { email: user.email, password: user.password }));
  assert.match(account.body, /Your account/);
  return { browser, account };
}

test('account-password-reentry-is-throttled: wrong passwords on account pages count like sign-in guesses; the right one after the cap is refused', async (t) => {
  const s = await startServer(t, { clock: fixedClock(stepStart()) });
  const user = await makeUser(s.services);
  const { browser, account } = await signedInAccount(s, user);
  // the page is a session, not a password oracle: guesses at the email-change form share the sign-in counter
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await submit(browser, account, '/account/email', { email: `elsewhere${i}@example.net`, password: `wrong guess number ${i}` })).status);
  assert.ok(statuses.slice(0, 5).every((x) => x === 403), `first five: wrong password (${statuses})`);
  const right = await submit(browser, account, '/account/email', { email: 'elsewhere@example.net', password: user.password });
  assert.match(right.body, /Too many attempts/, 'the right password is refused while the counter is locked');
  const links = await s.services.db.selectFrom('email_tokens').select('id').where('user_id', '=', user.id).where('purpose', '=', 'change_email').execute();
  assert.equal(links.length, 0, 'no change was made');
});

test('device-cookie-keeps-the-owner-out-of-a-lock: an attacker locking the account cannot lock out a browser that signed in before', async (t) => {
  const s = await startServer(t, { clock: fixedClock(stepStart()) });
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const user = await makeUser(s.services);
  const signIn = async (browser: HttpBrowser, password: string) => {
    const req = await authorizationRequest(config, client.redirectUri);
    const login = await browser.get(req.url, (u) => u.startsWith(client.redirectUri));
    const res = await submit(browser, login, '/login', { email: user.email, password });
    return { res, landed: await browser.follow(res, (u) => u.startsWith(client.redirectUri)) };
  };
  // the owner signs in once from their browser: it gets a device cookie
  const owner = new HttpBrowser();
  assert.ok((await signIn(owner, user.password)).landed.url.startsWith(client.redirectUri));
  assert.ok(cookie(owner, 'gh_device'), 'a device cookie after a right password');
  await s.services.db.deleteFrom('oidc_payloads').where('model', '=', 'Session').execute(); // signed out

  // an attacker runs the per-account counter into its lock; even the right password is refused to a new browser
  const attacker = new HttpBrowser();
  for (let i = 0; i < 6; i++) await signIn(attacker, `attacker guess number ${i}`);
  const stranger = await signIn(new HttpBrowser(), user.password);
  assert.equal(stranger.res.status, 429, 'a browser never seen before is locked out with the attacker');
  // the owner's browser is not
  const back = await signIn(owner, user.password);
  assert.ok(back.landed.url.startsWith(client.redirectUri), 'the owner signs in from their known browser');
  await s.services.db.deleteFrom('oidc_payloads').where('model', '=', 'Session').execute(); // signed out again
  // and a device cookie does not lift the lock for guesses: its own counter locks after five wrong passwords too
  for (let i = 0; i < 5; i++) assert.equal((await signIn(owner, `owner typo ${i}`)).res.status, 401);
  assert.equal((await signIn(owner, user.password)).res.status, 429);
});
