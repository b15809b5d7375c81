// Forms: a show-password toggle that is a real, named button with its state announced; "Forgot your password?"
// carries the address typed on the sign-in form; "Create new codes" ends on the right message. Screenshots.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

test('show-password toggle is an accessible button; forgot-password pre-fills the address from the sign-in form', async (t) => {
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const s = await startServer(t);
  const user = await makeUser(s.services);

  await page.goto(`${s.issuer}/account`);
  const password = page.getByLabel('Password', { exact: true });
  const toggle = page.getByRole('button', { name: 'Show password' });
  await toggle.waitFor();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  assert.equal(await toggle.getAttribute('aria-controls'), 'password');
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await password.fill('typed secret');
  await toggle.focus();
  await page.keyboard.press('Enter'); // a keyboard works it
  assert.equal(await password.getAttribute('type'), 'text');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  await shoot(page, 'pages-sign-in-password-shown');
  await toggle.click();
  assert.equal(await password.getAttribute('type'), 'password');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');

  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
  assert.equal(await page.getByLabel('Email').inputValue(), user.email);
  await shoot(page, 'pages-forgot-password-prefilled');
});

test('"Create new codes" ends on the message that new codes are active, not that 2FA was turned on', async (t) => {
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const totp = await enrollTotp(s.services, user, clock.now());
  const next = () => {
    clock.advance(30);
    return codeFor(totp.secret, clock.now());
  };

  await page.goto(`${s.issuer}/account`);
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Authentication code', { exact: true }).fill(next());
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();

  await page.getByText('Create new recovery codes').click();
  await page.locator('#rc-password').fill(user.password);
  await page.locator('#rc-code').fill(next());
  await page.getByRole('button', { name: 'Create new codes' }).click();
  await page.getByRole('heading', { name: 'Your new recovery codes' }).waitFor();
  await page.getByLabel('I have saved these codes').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  const flash = page.getByRole('status').filter({ hasText: 'recovery codes' });
  await flash.waitFor();
  assert.equal(await flash.innerText(), 'Your new recovery codes are active; the old ones no longer work.');
  assert.equal(new URL(page.url()).search, '?done=regenerated');
});
