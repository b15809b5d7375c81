// The sign-in and forgot-password forms in Chromium, English and German: empty fields said beside each field at
// once; a wrong password one message above the form. Screenshots at desktop and phone sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { startServer } from '../helpers/server.ts';

test('sign-in and forgot-password field errors in Chromium, in English and German', async (t) => {
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const s = await startServer(t);
  const user = await makeUser(s.services);

  await page.goto(`${s.issuer}/account`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#email-error').filter({ hasText: 'Enter your email address.' }).waitFor();
  await page.locator('#password-error').filter({ hasText: 'Enter your password.' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'email', 'the first wrong field has the focus');
  await shoot(page, 'pages-sign-in-field-errors-en');

  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Incorrect email or password.' }).waitFor();
  assert.equal(await page.locator('.field-error').count(), 0, 'neither field is named');
  await shoot(page, 'pages-sign-in-wrong-password-en');

  await page.getByLabel('Language').selectOption('de');
  await page.getByRole('button', { name: 'Change' }).click();
  // the switcher returns to a page it can GET again: the sign-in starts over, in German
  await page.goto(`${s.issuer}/account`);
  await page.getByLabel('E-Mail', { exact: true }).fill('ann@');
  await page.getByRole('button', { name: 'Anmelden' }).click();
  await page.locator('#email-error').filter({ hasText: 'Geben Sie eine gültige E-Mail-Adresse ein.' }).waitFor();
  await page.locator('#password-error').filter({ hasText: 'Geben Sie Ihr Passwort ein.' }).waitFor();
  await shoot(page, 'pages-sign-in-field-errors-de');

  await page.goto(`${s.issuer}/forgot-password`);
  await page.getByLabel('E-Mail').fill('ann@example');
  await page.locator('form[action="/forgot-password"] button[type="submit"]').click();
  await page.locator('#email-error').filter({ hasText: 'Geben Sie eine gültige E-Mail-Adresse ein.' }).waitFor();
  await shoot(page, 'pages-forgot-password-field-error-de');

  await page.getByLabel('Sprache').selectOption('en');
  await page.getByRole('button', { name: 'Ändern' }).click();
  await page.goto(`${s.issuer}/forgot-password`);
  await page.getByLabel('Email').fill('');
  await page.getByRole('button', { name: 'Send the link' }).click();
  await page.locator('#email-error').filter({ hasText: 'Enter your email address.' }).waitFor();
  await shoot(page, 'pages-forgot-password-field-error-en');
});
