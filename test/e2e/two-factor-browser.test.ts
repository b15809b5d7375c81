// Two-factor authentication in a real Chromium against a real Gatehouse and an openid-client RP: enrolling from the
// account page by scanning the QR code off the screen, signing in with password + TOTP, the lost-phone path through
// a recovery code, and every two-factor page on a desktop and a phone screen.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { SCREENSHOT_DIR, launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { decodeQr, oathtoolCode, parseOtpauth } from '../helpers/qr.ts';
import { redeem } from '../helpers/rp.ts';
import { relyingParty } from '../helpers/rp-listener.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, enrollTotp } from '../helpers/totp.ts';

type User = Awaited<ReturnType<typeof makeUser>>;

const RECOVERY_CODE = /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}$/;
const ACR_MFA = 'urn:gatehouse:acr:mfa';

/**
 * `browsers` fresh Chromium profiles (each its own cookie jar), then the server: after-hooks run in registration
 * order, so the browsers' connections are gone before the server waits for them
 */
async function setup(t: TestContext, browsers = 1) {
  const contexts: BrowserContext[] = [];
  for (let i = 0; i < browsers; i++) contexts.push(await launchBrowser(t));
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const pages = await Promise.all(contexts.map(async (c) => c.pages()[0] ?? (await c.newPage())));
  return { s, user, contexts, pages };
}

async function submitLogin(page: Page, email: string, password: string) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** /account sends an anonymous visitor through the normal sign-in and back */
async function signInToAccount(page: Page, s: TestServer, user: User) {
  await page.goto(`${s.issuer}/account`);
  await submitLogin(page, user.email, user.password);
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  assert.equal(page.url(), `${s.issuer}/account`);
}

/**
 * what a phone does with the enrollment page: photographs the QR code and decodes it (zbarimg); also opens "Can't
 * scan it?" and reads the key a person would type
 */
async function scanQr(page: Page, name: string) {
  const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const png = path.join(SCREENSHOT_DIR, `${name}.png`);
  await qr.screenshot({ path: png });
  const uri = await decodeQr(png);
  await page.getByText("Can't scan it? Enter the key instead").click();
  const key = page.locator('#totp-key');
  await key.waitFor({ state: 'visible' });
  return { uri, otpauth: parseOtpauth(uri), shownKey: (await key.innerText()).replace(/\s/g, '') };
}

/** the recovery codes on the page, checked for count and shape */
async function recoveryCodesOn(page: Page): Promise<string[]> {
  const codes = (await page.locator('#recovery-codes li').allInnerTexts()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  for (const c of codes) assert.match(c, RECOVERY_CODE);
  assert.equal(new Set(codes).size, 10, 'all different');
  return codes;
}


test('enroll by scanning the QR code, then sign in with password + TOTP through an RP', async (t) => {
  const { s, user, contexts, pages } = await setup(t, 2);
  const [page, freshPage] = pages as [Page, Page];
  await contexts[0]!.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.issuer });

  await signInToAccount(page, s, user);
  await page.getByLabel('Confirm your password to start').fill(user.password);
  await page.getByRole('button', { name: 'Enable two-factor authentication' }).click();
  await page.getByRole('heading', { name: 'Set up an authenticator' }).waitFor();

  const { otpauth, shownKey } = await scanQr(page, 'qr-account-enroll');
  assert.equal(otpauth.type, 'totp');
  assert.equal(otpauth.params.get('issuer'), 'Gatehouse');
  assert.equal(otpauth.label, `Gatehouse:${user.email}`);
  const secret = otpauth.params.get('secret')!;
  assert.match(secret, /^[A-Z2-7]{32}$/, '160-bit key in base32');
  assert.equal(secret, shownKey, 'the QR code and the key to type are the same secret');
  for (const [param, standard] of [['algorithm', 'SHA1'], ['digits', '6'], ['period', '30']] as const) {
    assert.equal(otpauth.params.get(param) ?? standard, standard, `${param}: what every authenticator app (and oathtool) assumes`);
  }

  // two independent TOTP implementations agree on the code for this secret
  const now = new Date();
  const code = codeFor(secret, now);
  assert.equal(await oathtoolCode(secret, now), code);
  await page.getByLabel('Enter the 6-digit code the app shows').fill(code);
  await page.getByRole('button', { name: 'Activate' }).click();

  // the recovery codes, shown once
  await page.getByRole('heading', { name: 'Two-factor authentication is on' }).waitFor();
  const codes = await recoveryCodesOn(page);
  const download = page.getByRole('link', { name: 'Download' });
  assert.equal(await download.getAttribute('download'), 'gatehouse-recovery-codes.txt');
  const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
  const downloaded = await readFile((await file.path())!, 'utf8');
  assert.deepEqual(downloaded.split('\n').filter((l) => RECOVERY_CODE.test(l)), codes, 'the file holds the same ten codes');
  await page.getByRole('button', { name: 'Copy', exact: true }).click();
  await page.getByRole('button', { name: 'Copied', exact: true }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), downloaded, 'Copy puts the same text on the clipboard');

  // "Continue" without the box ticked: the browser refuses to submit (the checkbox is required)
  const saved = page.getByLabel('I have saved these codes');
  assert.equal(await saved.isChecked(), false);
  const posts: string[] = [];
  page.on('request', (r) => void (r.method() === 'POST' && posts.push(new URL(r.url()).pathname)));
  await saved.evaluate((el) => {
    (window as unknown as { blocked: Promise<string> }).blocked = new Promise((resolve) =>
      el.addEventListener('invalid', () => resolve((el as HTMLInputElement).validationMessage), { once: true }),
    );
  });
  await page.getByRole('button', { name: 'Continue' }).click();
  const message = await page.evaluate(() => (window as unknown as { blocked: Promise<string> }).blocked);
  assert.ok(message.length > 0, 'the browser says why it did not submit');
  assert.deepEqual(await recoveryCodesOn(page), codes, 'the same page, with the same codes, is still there');
  assert.deepEqual(posts, [], 'nothing was sent');

  await saved.check();
  await Promise.all([page.waitForURL(`${s.issuer}/account?done=enabled`), page.getByRole('button', { name: 'Continue' }).click()]);
  assert.deepEqual(posts, ['/account/2fa/recovery-codes/saved']);
  assert.equal(await page.getByRole('status').innerText(), 'Two-factor authentication is on.');
  const section = page.locator('#two-factor');
  assert.equal(await section.locator('#tfa-h .badge').innerText(), 'On');
  assert.match(await section.innerText(), /10 of 10 recovery codes left\./);
  assert.deepEqual(await section.locator('.device-name').allInnerTexts(), ['Authenticator app']);
  const main = await page.locator('main').innerText();
  assert.ok(!codes.some((c) => main.includes(c)), 'the codes are not shown again');

  // a fresh browser (no Gatehouse session) signs in to an RP: password, then the authenticator's code
  const rp = await relyingParty(t, s);
  const req = await rp.authorize();
  await freshPage.goto(req.url);
  await submitLogin(freshPage, user.email, user.password);
  const codeField = freshPage.getByLabel('Authentication code', { exact: true });
  await codeField.waitFor();
  assert.match(new URL(freshPage.url()).pathname, /^\/interaction\/[^/]+\/totp$/);
  assert.equal(await codeField.getAttribute('autocomplete'), 'one-time-code');
  assert.equal(await codeField.getAttribute('inputmode'), 'numeric');
  assert.deepEqual(rp.hits, [], 'the password alone got the app nothing');
  // activation spent the current step; the next one is within the accepted drift
  await codeField.fill(codeFor(secret, new Date(Date.now() + 30_000)));
  const callback = rp.next('/callback');
  await freshPage.getByRole('button', { name: 'Verify' }).click();
  const claims = (await redeem(rp.config, req, await callback)).claims()!;
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(claims.acr, ACR_MFA);
  assert.equal(claims.sub, user.id);
});

test('lost phone: a recovery code signs in and forces a new authenticator', async (t) => {
  const { s, user, pages } = await setup(t);
  const page = pages[0]!;
  const lost = await enrollTotp(s.services, user);
  const rp = await relyingParty(t, s);
  const req = await rp.authorize();
  await page.goto(req.url);
  await submitLogin(page, user.email, user.password);
  await page.getByRole('link', { name: 'Use a recovery code instead' }).click();
  await page.getByRole('heading', { name: 'Use a recovery code' }).waitFor();

  // typed the way a person reads it off paper: lowercase, spaces for dashes
  const typed = lost.recoveryCodes[0]!.toLowerCase().replace(/-/g, ' ');
  await page.getByLabel('Recovery code', { exact: true }).fill(typed);
  assert.equal(await page.getByLabel('Recovery code', { exact: true }).inputValue(), typed);
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/interaction\/[^/]+\/enroll$/);
  assert.match(await page.locator('main .lead').innerText(), /You signed in with a recovery code\. Set up a new authenticator app/);
  assert.deepEqual(rp.hits, [], 'nothing is issued before the new authenticator works');

  const { otpauth, shownKey } = await scanQr(page, 'qr-sign-in-enroll');
  const secret = otpauth.params.get('secret')!;
  assert.equal(otpauth.params.get('issuer'), 'Gatehouse');
  assert.equal(otpauth.label, `Gatehouse:${user.email}`);
  assert.equal(secret, shownKey);
  assert.notEqual(secret, lost.secret, 'a new secret, not the lost phone’s');
  const now = new Date();
  const code = codeFor(secret, now);
  assert.equal(await oathtoolCode(secret, now), code);
  await page.getByLabel('Enter the 6-digit code the app shows').fill(code);
  await page.getByRole('button', { name: 'Activate' }).click();

  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  const codes = await recoveryCodesOn(page);
  assert.ok(!codes.some((c) => lost.recoveryCodes.includes(c)), 'new recovery codes');
  await page.getByLabel('I have saved these codes').check();
  const callback = rp.next('/callback');
  await page.getByRole('button', { name: 'Continue' }).click();
  const claims = (await redeem(rp.config, req, await callback)).claims()!;
  assert.deepEqual(claims.amr, ['pwd', 'mfa'], 'a recovery code is a second factor, not an OTP');
  assert.equal(claims.acr, ACR_MFA);
  assert.equal(claims.sub, user.id);

  const devices = (await s.services.twoFactor.status(user.id)).devices;
  assert.equal(devices.length, 1, 'only the new authenticator');
  assert.notEqual(devices[0]!.id, lost.credentialId, 'the lost phone’s authenticator is gone');
});

test('two-factor pages on a desktop and a phone: screenshots, none wider than the phone', async (t) => {
  const { s, user, pages } = await setup(t, 2);
  const [account, signIn] = pages as [Page, Page];

  // account page, two-factor off
  await signInToAccount(account, s, user);
  assert.equal(await account.locator('#tfa-h .badge').innerText(), 'Off');
  await shoot(account, '2fa-account-off');

  // enabling it from the account page
  await account.getByLabel('Confirm your password to start').fill(user.password);
  await account.getByRole('button', { name: 'Enable two-factor authentication' }).click();
  await account.getByRole('heading', { name: 'Set up an authenticator' }).waitFor();
  await shoot(account, '2fa-account-enroll');
  const secret = (await account.locator('#totp-key').textContent())!.replace(/\s/g, '');
  await account.getByLabel('Enter the 6-digit code the app shows').fill(codeFor(secret));
  await account.getByRole('button', { name: 'Activate' }).click();
  await account.getByRole('heading', { name: 'Two-factor authentication is on' }).waitFor();
  const codes = await recoveryCodesOn(account);
  await shoot(account, '2fa-account-recovery-codes');
  await account.getByLabel('I have saved these codes').check();
  await Promise.all([account.waitForURL(/\/account\?done=enabled$/), account.getByRole('button', { name: 'Continue' }).click()]);

  // account page, two-factor on, with two authenticators
  // added as from this browser's account page: its session carries on under the new credential epoch
  const session = await s.services.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Session').where('account_id', '=', user.id).executeTakeFirstOrThrow();
  const tablet = await s.services.twoFactor.startEnrollment(user, 'Work tablet');
  await s.services.twoFactor.activate(user, tablet.credentialId, codeFor(tablet.secret), { sessionId: session.id });
  await account.goto(`${s.issuer}/account`);
  assert.equal(await account.locator('#tfa-h .badge').innerText(), 'On');
  const section = account.locator('#two-factor');
  assert.deepEqual(await section.locator('.device-name').allInnerTexts(), ['Authenticator app', 'Work tablet']);
  assert.match(await section.innerText(), /10 of 10 recovery codes left\./);
  await shoot(account, '2fa-account-on');

  await account.getByRole('link', { name: 'Remove Work tablet' }).click();
  await account.getByRole('heading', { name: 'Remove “Work tablet”?' }).waitFor();
  await shoot(account, '2fa-remove-authenticator');
  await account.getByRole('link', { name: 'Cancel' }).click();
  await account.getByRole('link', { name: 'Turn off two-factor authentication' }).click();
  await account.getByRole('heading', { name: 'Turn off two-factor authentication?' }).waitFor();
  await shoot(account, '2fa-disable');

  // the sign-in steps, in a browser without a session
  const rp = await relyingParty(t, s);
  const req = await rp.authorize();
  await signIn.goto(req.url);
  await submitLogin(signIn, user.email, user.password);
  await signIn.getByLabel('Authentication code', { exact: true }).waitFor();
  await shoot(signIn, '2fa-code');
  await signIn.getByLabel('Authentication code', { exact: true }).fill(codeFor(secret, new Date(Date.now() + 600_000)));
  await signIn.getByRole('button', { name: 'Verify' }).click();
  await signIn.getByRole('alert').filter({ hasText: 'That code did not work. Try again.' }).waitFor();
  await shoot(signIn, '2fa-code-error');

  await signIn.getByRole('link', { name: 'Use a recovery code instead' }).click();
  await signIn.getByRole('heading', { name: 'Use a recovery code' }).waitFor();
  await shoot(signIn, '2fa-recovery-code');
  await signIn.getByLabel('Recovery code', { exact: true }).fill(codes[0]!);
  await signIn.getByRole('button', { name: 'Continue' }).click();
  await signIn.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
  await shoot(signIn, '2fa-enroll-sign-in');
  await signIn.getByText("Can't scan it? Enter the key instead").click();
  await signIn.locator('#totp-key').waitFor({ state: 'visible' });
  await shoot(signIn, '2fa-enroll-sign-in-key');
  const newSecret = (await signIn.locator('#totp-key').innerText()).replace(/\s/g, '');
  await signIn.getByLabel('Enter the 6-digit code the app shows').fill(codeFor(newSecret));
  await signIn.getByRole('button', { name: 'Activate' }).click();
  await signIn.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  await recoveryCodesOn(signIn);
  await shoot(signIn, '2fa-recovery-codes');
  await signIn.getByLabel('I have saved these codes').check();
  const callback = rp.next('/callback');
  await signIn.getByRole('button', { name: 'Continue' }).click();
  assert.deepEqual((await redeem(rp.config, req, await callback)).claims()!.amr, ['pwd', 'mfa']);
});
