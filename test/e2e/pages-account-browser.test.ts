// /account for someone with an unverified address and two sessions: "Resend the link" beside the address, the apps
// each session signed in to, "Sign out everywhere else"; and the expired-link page with its next step. Screenshots.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { PASSWORD } from '../helpers/factories.ts';
import { HttpBrowser } from '../helpers/http-browser.ts';
import { startServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { fixedClock, stepStart } from '../helpers/totp.ts';

test('account page in Chromium: Resend the link, sessions with their apps, Sign out everywhere else; the expired-link page offers a new link', async (t) => {
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const user = await s.services.users.create({ email: 'una@example.com', password: PASSWORD, name: 'Una Unverified' });
  // another device, signed in earlier
  const phone = new HttpBrowser();
  await signInOnPage(phone, await phone.get(`${s.issuer}/account`), { email: user.email, password: PASSWORD });

  await page.goto(`${s.issuer}/account`);
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Resend the link' }).click();
  await page.getByRole('status').filter({ hasText: 'We sent a new link' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Sign out everywhere else' }).count(), 1);
  await shoot(page, 'pages-account-unverified-sessions');
  await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
  await page.getByRole('status').filter({ hasText: 'You were signed out everywhere else' }).waitFor();
  assert.equal((await phone.request(`${s.issuer}/account`)).status, 303, 'the other device is signed out');

  // the link from the mail, two days later
  const mail = await s.services.db.selectFrom('email_outbox').select('text_body').where('to_address', '=', user.email).orderBy('id', 'desc').executeTakeFirstOrThrow();
  const link = /http\S+\/verify-email\?token=[A-Za-z0-9_-]+/.exec(mail.text_body)![0];
  clock.advance(2 * 24 * 3600);
  await page.goto(link);
  await page.getByRole('heading', { name: 'This link has expired', level: 1 }).waitFor();
  await shoot(page, 'pages-link-expired');
  await page.getByRole('button', { name: 'Resend the link' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
});
