// Account pages in a real Chromium against a real Gatehouse (mail through a real SMTP sink) and an openid-client RP:
// sign-up with email verification, forgot password, invitation, the 2FA-rollout reminder, the device flow pages and
// the account page, each on a desktop and a phone screen.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { BrowserContext, Page, Response } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser, PASSWORD } from '../helpers/factories.ts';
import { discover, oidc, redeem } from '../helpers/rp.ts';
import { relyingParty, type Rp } from '../helpers/rp-listener.ts';
import { startServer } from '../helpers/server.ts';
import { startSmtpSink, type ReceivedMail } from '../helpers/smtp.ts';
import { formatDate } from '../../src/i18n/catalogue.ts';

type Sink = Awaited<ReturnType<typeof startSmtpSink>>;

const BAD_LOGIN = 'Incorrect email or password.';
const TOO_SHORT = /Use at least 15 characters/;

/**
 * `browsers` fresh Chromium profiles (each its own cookie jar), an SMTP sink, then a server that mails to it.
 * After-hooks run in registration order: the browsers go first, then the server, then the sink it was sending to.
 */
async function setup(t: TestContext, browsers = 1) {
  const contexts: BrowserContext[] = [];
  for (let i = 0; i < browsers; i++) contexts.push(await launchBrowser(t));
  const sink = await startSmtpSink();
  const s = await startServer(t, { env: { SMTP_URL: sink.url } });
  t.after(() => sink.stop());
  const pages = await Promise.all(contexts.map(async (c) => c.pages()[0] ?? (await c.newPage())));
  return { s, sink, pages };
}

/** the link to `path` in a received message (quoted-printable soft breaks undone) */
function linkIn(mail: ReceivedMail, path: string): string {
  const raw = mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const m = new RegExp(`https?://[^\\s"<>]+${path}\\?token=[A-Za-z0-9_-]+`).exec(raw);
  if (!m) throw new Error(`no ${path} link in: ${mail.subject}`);
  return m[0];
}

/** the first mail to `to` whose subject matches, and its link to `path` */
async function mailedLink(sink: Sink, to: string, subject: RegExp, path: string): Promise<string> {
  return linkIn(await sink.waitFor((m) => m.to.includes(to) && subject.test(m.subject)), path);
}

async function submitLogin(page: Page, email: string, password: string) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** signs in through the RP's sign-in page; returns the tokens the RP gets */
async function signInThroughRp(page: Page, rp: Rp, user: { email: string; password: string }) {
  const req = await rp.authorize();
  await page.goto(req.url);
  const callback = rp.next('/callback');
  await submitLogin(page, user.email, user.password);
  return redeem(rp.config, req, await callback);
}

/** clicks a submit button and waits for the page it leads to (the response to that POST) */
async function submitAndWait(page: Page, button: string | RegExp, path: string): Promise<Response> {
  const isPost = (r: Response) => r.request().method() === 'POST' && new URL(r.url()).pathname === path;
  const [response] = await Promise.all([page.waitForResponse(isPost), page.waitForEvent('load'), page.getByRole('button', { name: button }).click()]);
  return response;
}

async function heading(page: Page, name: string | RegExp) {
  await page.getByRole('heading', { name, level: 1 }).waitFor();
}


test('browser sign-up → real email → verify → sign in through an RP', async (t) => {
  const { s, sink, pages } = await setup(t);
  const page = pages[0]!;
  // scope email puts email_verified in userinfo; the claims parameter asks for it in the ID token too
  const rp = await relyingParty(t, s, { params: { scope: 'openid email', claims: JSON.stringify({ id_token: { email_verified: { essential: true } } }) } });
  const email = `new.person.${Date.now()}@example.com`; // 37 characters: longer than a phone line

  await page.goto((await rp.authorize()).url);
  await page.getByRole('link', { name: 'Create an account' }).click();
  await heading(page, 'Create an account');
  assert.equal(new URL(page.url()).pathname, '/signup');
  assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('autocomplete'), 'new-password');
  await shoot(page, 'signup');

  // a password that is too short: the reason is shown, the name and email are kept, the password is not echoed
  await page.getByLabel('Name', { exact: true }).fill('New Person');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill('too short');
  const refused = await submitAndWait(page, 'Create account', '/signup');
  assert.equal(refused.status(), 400);
  // beside its field, and named by it
  assert.match(await page.locator('#password-error').innerText(), TOO_SHORT);
  assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'), 'true');
  assert.match((await page.getByLabel('Password', { exact: true }).getAttribute('aria-describedby'))!, /\bpassword-error\b/);
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'New Person');
  assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), email);
  assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '');
  assert.deepEqual(sink.messages, [], 'nothing was mailed');
  await shoot(page, 'signup-error');

  // every field error at once: a bad address and a short password are both shown, each beside its field
  await page.getByLabel('Email', { exact: true }).fill('not-an-address');
  await page.getByLabel('Password', { exact: true }).fill('too short');
  assert.equal((await submitAndWait(page, 'Create account', '/signup')).status(), 400);
  assert.match(await page.locator('#email-error').innerText(), /valid email address/);
  assert.match(await page.locator('#password-error').innerText(), TOO_SHORT);
  assert.equal(await page.getByLabel('Email', { exact: true }).getAttribute('aria-describedby'), 'email-error');
  assert.equal(await page.getByLabel('Email', { exact: true }).getAttribute('aria-invalid'), 'true');
  await shoot(page, 'signup-field-errors');
  await page.getByLabel('Email', { exact: true }).fill(email);

  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await heading(page, 'Check your email');
  assert.equal(await page.locator('main .address').innerText(), email);
  assert.match(await page.locator('main').innerText(), /We sent a message to:\s+\S+\s+Follow the link in it to finish\./);
  await shoot(page, 'check-email');

  // the link from the mail, opened in the same browser: one button, so that mail scanners do not use it up
  const link = await mailedLink(sink, email, /Confirm your email/, '/verify-email');
  await page.goto(link);
  await heading(page, 'Confirm your email address');
  await shoot(page, 'confirm-link');
  await page.getByRole('button', { name: 'Confirm' }).click();
  await heading(page, 'Email address confirmed');
  assert.match(await page.locator('main').innerText(), /You can now sign in\./);
  await shoot(page, 'done');

  // back at the app: sign in with the new account; the app learns the address is verified
  const tokens = await signInThroughRp(page, rp, { email, password: PASSWORD });
  const userinfo = await oidc.fetchUserInfo(rp.config, tokens.access_token, tokens.claims()!.sub);
  assert.equal(userinfo.email, email);
  assert.equal(userinfo.email_verified, true);
  assert.equal(tokens.claims()!.email_verified, true, 'the ID token says so too');
  assert.deepEqual(tokens.claims()!.amr, ['pwd']);
});

test('browser forgot password → email → reset → old password refused, other sessions dead', async (t) => {
  const { s, sink, pages } = await setup(t, 2);
  const [a, b] = pages as [Page, Page];
  const user = await makeUser(s.services, { email: `forgetful.${Date.now()}@example.com` });
  const rp = await relyingParty(t, s);
  const NEW_PASSWORD = 'a brand new passphrase here';

  // context A is signed in
  const before = await signInThroughRp(a, rp, user);
  assert.equal(before.claims()!.sub, user.id);
  assert.ok(before.refresh_token, 'the app holds a refresh token');

  // context B: "Forgot your password?" on the sign-in page
  await b.goto((await rp.authorize()).url);
  await b.getByRole('link', { name: 'Forgot your password?' }).click();
  await heading(b, 'Reset your password');
  await shoot(b, 'forgot-password');
  await b.getByLabel('Email', { exact: true }).fill(user.email);
  await b.getByRole('button', { name: 'Send the link' }).click();
  await heading(b, 'Check your email');
  assert.match(await b.locator('main').innerText(), /If this address has an account, we sent it a link to choose a new password:/);
  assert.equal(await b.locator('main .address').innerText(), user.email);
  await shoot(b, 'check-email-reset');
  await b.getByRole('link', { name: 'Back to sign in' }).waitFor();

  const link = await mailedLink(sink, user.email, /Reset your Gatehouse password/, '/reset-password');
  await b.goto(link);
  await heading(b, 'Choose a new password');
  assert.equal(await b.getByLabel('New password', { exact: true }).getAttribute('autocomplete'), 'new-password');
  await shoot(b, 'set-password-reset');
  await b.getByLabel('New password', { exact: true }).fill('short');
  const refused = await submitAndWait(b, 'Change password', '/reset-password');
  assert.equal(refused.status(), 400);
  // beside the password field, which names it
  assert.match(await b.locator('#password-error').innerText(), TOO_SHORT);
  assert.equal(await b.getByLabel('New password', { exact: true }).getAttribute('aria-describedby'), 'password-error pw-help');
  assert.equal(await b.getByLabel('New password', { exact: true }).getAttribute('aria-invalid'), 'true');
  await shoot(b, 'set-password-reset-error');
  await b.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
  await b.getByRole('button', { name: 'Change password' }).click();
  await heading(b, 'Your password was changed');
  assert.match(await b.locator('main').innerText(), /You were signed out everywhere/);
  await shoot(b, 'done-reset');

  // the old password is refused on the sign-in page; the new one works
  await b.goto((await rp.authorize()).url);
  const isLoginPost = (r: Response) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/login');
  const [response] = await Promise.all([b.waitForResponse(isLoginPost), b.waitForEvent('load'), submitLogin(b, user.email, user.password)]);
  assert.equal(response.status(), 401);
  assert.deepEqual(await b.getByRole('alert').allInnerTexts(), [BAD_LOGIN]);
  const callback = rp.next('/callback');
  await b.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
  await b.getByRole('button', { name: 'Sign in' }).click();
  await callback;

  // context A's session is dead: a new authorization request shows the sign-in form again
  const callbacks = () => rp.hits.filter((u) => new URL(u).pathname === '/callback').length;
  const seen = callbacks();
  const req = await rp.authorize();
  await a.goto(req.url);
  await a.getByLabel('Password', { exact: true }).waitFor();
  await heading(a, 'Sign in');
  assert.match(new URL(a.url()).pathname, /^\/interaction\/[^/]+$/);
  assert.equal(callbacks(), seen, 'nothing reached the app');
  await assert.rejects(oidc.refreshTokenGrant(rp.config, before.refresh_token!), 'and its refresh token was revoked');
});

test('grace reminder during a 2FA rollout', async (t) => {
  const { s, pages } = await setup(t);
  const page = pages[0]!;
  const user = await makeUser(s.services);
  const tenant = await s.services.tenants.create({ slug: 'corp', name: 'Corp' });
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  const deadline = new Date(Date.now() + 7 * 86400_000);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, enforceFrom: deadline }, null);
  const rp = await relyingParty(t, s, { client: { name: 'Team Wiki' } });

  const req = await rp.authorize();
  await page.goto(req.url);
  await submitLogin(page, user.email, user.password);
  await heading(page, 'Set up two-factor authentication');
  assert.match(new URL(page.url()).pathname, /^\/interaction\/[^/]+\/grace$/);
  const day = deadline.toISOString().slice(0, 10);
  const shown = page.getByRole('status').locator('time');
  assert.equal(await shown.getAttribute('datetime'), day);
  assert.equal(await shown.innerText(), formatDate(deadline, 'en', 'long'), 'the date, written out with its month name (the date filter)');
  assert.match(await page.getByRole('status').innerText(), /requires two-factor authentication from/);
  await page.getByRole('button', { name: 'Set up now' }).waitFor();
  assert.deepEqual(rp.hits, [], 'nothing reaches the app before the user chooses');
  await shoot(page, 'grace');

  const callback = rp.next('/callback');
  await page.getByRole('button', { name: /^Remind me later/ }).click();
  const tokens = await redeem(rp.config, req, await callback);
  assert.equal(tokens.claims()!.sub, user.id);
  assert.deepEqual(tokens.claims()!.amr, ['pwd'], 'during the grace period a password sign-in still works');
});

test('device flow pages', async (t) => {
  const { s, pages } = await setup(t);
  const page = pages[0]!;
  const user = await makeUser(s.services);
  const cli = await s.services.clients.create({ name: 'Gatehouse CLI', public: true, grantTypes: ['device_code'] });
  const config = await discover(s.issuer, { clientId: cli.clientId });
  const auth = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });

  // a wrong code first, then the right one typed the lazy way (lowercase, no dash)
  await page.goto(auth.verification_uri);
  await heading(page, 'Connect a device');
  const codeField = page.getByLabel('Code', { exact: true });
  assert.equal(await codeField.getAttribute('autocomplete'), 'off');
  await shoot(page, 'device-input');
  await codeField.fill('BCDF-GHJK');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('alert').filter({ hasText: 'That code is not right' }).waitFor();
  await shoot(page, 'device-input-error');
  await page.getByLabel('Code', { exact: true }).fill(auth.user_code.toLowerCase().replace('-', ''));
  await page.getByRole('button', { name: 'Continue' }).click();

  await heading(page, 'Sign in Gatehouse CLI?');
  assert.equal(await page.locator('.user-code').innerText(), auth.user_code, 'the confirmation shows the code to compare');
  await shoot(page, 'device-confirm');
  await page.getByRole('button', { name: 'Yes, sign it in' }).click();
  await submitLogin(page, user.email, user.password);
  await heading(page, 'Allow access?');
  assert.match(await page.locator('main').innerText(), /Gatehouse CLI would like to:/);
  await page.getByRole('button', { name: 'Allow' }).click();
  await heading(page, 'Device connected');
  assert.match(await page.locator('main').innerText(), /Gatehouse CLI is signed in\./);
  await shoot(page, 'device-success');

  const tokens = await oidc.pollDeviceAuthorizationGrant(config, { ...auth, interval: 0.1 } as typeof auth);
  assert.equal(tokens.claims()!.sub, user.id);
  assert.deepEqual(tokens.claims()!.amr, ['pwd']);
});

test('invitation → choose a password → the account page with sessions and apps', async (t) => {
  const { s, sink, pages } = await setup(t, 2);
  const [page, other] = pages as [Page, Page];
  const email = `invitee.${Date.now()}@example.com`;
  const password = 'my invited passphrase';
  await s.services.accounts.invite(email, {});

  const link = await mailedLink(sink, email, /invited/, '/invite');
  await page.goto(link);
  await heading(page, 'Accept your invitation');
  await shoot(page, 'set-password-invite');
  await page.getByLabel('Your name', { exact: true }).fill('Ada Invitee');
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Accept and set password' }).click();
  await heading(page, 'Welcome to Gatehouse');
  await shoot(page, 'done-invite');

  // signed in to two apps in this browser (one third-party, with consent), and to the account page in another one
  const wiki = await relyingParty(t, s, { client: { name: 'Team Wiki' } });
  await signInThroughRp(page, wiki, { email, password });
  const printer = await relyingParty(t, s, { client: { name: 'Photo Printer', firstParty: false } });
  const req = await printer.authorize();
  await page.goto(req.url);
  const callback = printer.next('/callback');
  await page.getByRole('button', { name: 'Allow' }).click();
  await redeem(printer.config, req, await callback);
  await other.goto(`${s.issuer}/account`);
  await submitLogin(other, email, password);
  await heading(other, 'Your account');

  await page.goto(`${s.issuer}/account`);
  await heading(page, 'Your account');
  const profile = page.locator('section', { has: page.getByRole('heading', { name: 'Profile' }) });
  assert.match(await profile.innerText(), new RegExp(`Ada Invitee[\\s\\S]*${email.replace(/\./g, '\\.')}\\s+verified`));
  for (const summary of ['Change your name', 'Change your email address', 'Change your password']) await page.getByText(summary, { exact: true }).click();
  await page.getByLabel('Current password', { exact: true }).waitFor();
  const sessions = page.locator('section', { has: page.getByRole('heading', { name: 'Where you are signed in' }) });
  const rows = sessions.locator('ul.devices');
  // each session is named by its browser and system when known ("Chrome on Linux"), this one as "This browser"
  const names = await rows.nth(0).locator('.device-name').allInnerTexts();
  assert.equal(names.length, 2, 'this browser and the other one');
  assert.equal(names.filter((n) => /^This browser( \(Chrome on Linux\))?$/.test(n)).length, 1, names.join(' / '));
  assert.equal(names.filter((n) => /^(Chrome on Linux|A browser)$/.test(n)).length, 1, names.join(' / '));
  assert.deepEqual((await rows.nth(1).locator('.device-name').allInnerTexts()).sort(), ['Photo Printer', 'Team Wiki'], 'both apps');
  await sessions.getByRole('button', { name: 'Revoke Photo Printer' }).waitFor();
  await shoot(page, 'account');
});
