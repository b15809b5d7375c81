// The sessions list in Chromium, in English and German: this browser "active now", a phone last active minutes ago,
// browser and system names with the page language's words around them. Screenshots at desktop and phone sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { AgentBrowser, SAFARI_IPHONE } from '../helpers/http-browser.ts';
import { startServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { fixedClock, stepStart } from '../helpers/totp.ts';

test('sessions list in Chromium says when each session was last active, in English and German', async (t) => {
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const phone = new AgentBrowser(SAFARI_IPHONE);
  await signInOnPage(phone, await phone.get(`${s.issuer}/account`), user);
  clock.advance(6 * 60);
  assert.equal((await phone.request(`${s.issuer}/account`)).status, 200, 'the phone used its session');
  clock.advance(17 * 60);

  await page.goto(`${s.issuer}/account`);
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  const sessions = page.locator('section[aria-labelledby="sessions-h"] ul.devices').first();
  await sessions.getByText('Active now').waitFor();
  await sessions.getByText('Last active 17 minutes ago').waitFor();
  await sessions.getByText('Safari on iOS').waitFor();
  await page.locator('#sessions-h').scrollIntoViewIfNeeded();
  await shoot(page, 'pages-account-sessions-en');

  await page.getByLabel('Language').selectOption('de');
  await page.getByRole('button', { name: 'Change' }).click();
  await page.getByRole('heading', { name: 'Ihr Konto', level: 1 }).waitFor();
  await sessions.getByText('Gerade aktiv').waitFor();
  await sessions.getByText('Zuletzt aktiv vor 17 Minuten').waitFor();
  await sessions.getByText('Safari auf iOS').waitFor();
  await shoot(page, 'pages-account-sessions-de');
});
