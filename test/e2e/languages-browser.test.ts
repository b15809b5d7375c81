// Languages in a real Chromium: a German browser (Accept-Language) and an app's ui_locales both give German sign-in
// and TOTP pages; the footer's switcher changes the language of the page it is on. Screenshots in German.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { redeem } from '../helpers/rp.ts';
import { relyingParty } from '../helpers/rp-listener.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

async function setup(t: TestContext, opts: { acceptLanguage: string; params?: Record<string, string> }) {
  const context = await launchBrowser(t);
  await context.setExtraHTTPHeaders({ 'accept-language': opts.acceptLanguage });
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const { secret } = await enrollTotp(s.services, user, clock.now());
  clock.advance(30); // the enrollment spent this step's code
  const rp = await relyingParty(t, s, { params: opts.params });
  const page = context.pages()[0] ?? (await context.newPage());
  return { s, user, rp, page, code: () => codeFor(secret, clock.now()) };
}

/** the sign-in form, by the words people read in the page's language */
async function submitLogin(page: Page, email: string, password: string, lang: 'en' | 'de' = 'en') {
  const words = lang === 'de' ? { email: 'E-Mail', password: 'Passwort', submit: 'Anmelden' } : { email: 'Email', password: 'Password', submit: 'Sign in' };
  await page.getByLabel(words.email, { exact: true }).fill(email);
  await page.getByLabel(words.password, { exact: true }).fill(password);
  await page.getByRole('button', { name: words.submit, exact: true }).click();
}

async function assertGermanLayout(page: Page) {
  assert.equal(await page.getAttribute('html', 'lang'), 'de');
  assert.match(await page.locator('footer').innerText(), /Geschützt durch Gatehouse/);
  assert.equal(await page.getByLabel('Sprache').inputValue(), 'de');
  assert.equal(await page.getByRole('link', { name: 'Zum Inhalt springen' }).count(), 1);
}

async function assertGermanTotpPage(page: Page) {
  await page.getByRole('heading', { name: 'Zwei-Faktor-Authentifizierung', level: 1 }).waitFor();
  await assertGermanLayout(page);
  assert.match(await page.locator('main').innerText(), /Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App ein\./);
  assert.equal(await page.getByLabel('Authentifizierungscode').count(), 1);
  assert.equal(await page.getByRole('link', { name: 'Stattdessen einen Wiederherstellungscode verwenden' }).count(), 1);
  assert.equal(await page.getByRole('button', { name: 'Abbrechen und zur App zurückkehren' }).count(), 1);
  assert.equal(await page.title(), 'Zwei-Faktor-Authentifizierung · Gatehouse');
}

test('German browser (Accept-Language: de): the sign-in and TOTP pages, and a wrong code\'s message, are in German; the sign-in completes', async (t) => {
  const { user, rp, page, code } = await setup(t, { acceptLanguage: 'de-DE,de;q=0.9,en;q=0.5' });
  const req = await rp.authorize();
  await page.goto(req.url);
  await assertGermanLayout(page);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Anmelden', 'the sign-in form itself is German');
  await shoot(page, 'i18n-sign-in-de');
  await submitLogin(page, user.email, user.password, 'de');
  await assertGermanTotpPage(page);
  await shoot(page, 'i18n-totp-de');
  const wrong = code() === '000000' ? '111111' : '000000';
  await page.getByLabel('Authentifizierungscode').fill(wrong);
  await page.getByRole('button', { name: 'Bestätigen' }).click();
  assert.equal(await page.getByRole('alert').innerText(), 'Dieser Code hat nicht funktioniert. Versuchen Sie es erneut.');
  await shoot(page, 'i18n-totp-error-de');
  const callback = rp.next('/callback');
  await page.getByLabel('Authentifizierungscode').fill(code());
  await page.getByRole('button', { name: 'Bestätigen' }).click();
  const claims = (await redeem(rp.config, req, await callback)).claims()!;
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
});

test('ui_locales=de: an English browser gets the sign-in and TOTP pages in German', async (t) => {
  const { user, rp, page } = await setup(t, { acceptLanguage: 'en-US,en;q=0.9', params: { ui_locales: 'fr-CA de' } });
  await page.goto((await rp.authorize()).url);
  await assertGermanLayout(page);
  await submitLogin(page, user.email, user.password, 'de');
  await assertGermanTotpPage(page);
});

test('the language switcher in the footer changes the language of the page it is on, and back', async (t) => {
  const { user, rp, page } = await setup(t, { acceptLanguage: 'en-US,en;q=0.9' });
  await page.goto((await rp.authorize()).url);
  await submitLogin(page, user.email, user.password);
  await page.getByRole('heading', { name: 'Two-factor authentication', level: 1 }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  const totpUrl = page.url();

  await page.getByLabel('Language').selectOption('de');
  await page.getByRole('button', { name: 'Change' }).click();
  await assertGermanTotpPage(page);
  assert.equal(page.url(), totpUrl, 'the same step, now in German');

  await page.getByLabel('Sprache').selectOption('en');
  await page.getByRole('button', { name: 'Ändern' }).click();
  await page.getByRole('heading', { name: 'Two-factor authentication', level: 1 }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
});
