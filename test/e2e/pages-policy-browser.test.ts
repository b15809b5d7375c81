// The organization whose policy requires 2FA is named (not the app): on the grace reminder, on the required
// enrollment, and on /account, which then offers no "Turn off". The account page's Security activity reads as
// sentences. Screenshots at desktop and phone sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { relyingParty } from '../helpers/rp-listener.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor, daysFrom, fixedClock, stepStart } from '../helpers/totp.ts';

async function submitLogin(page: Page, email: string, password: string) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('grace reminder names the organization whose policy requires 2FA, not the app', async (t) => {
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const tenant = await s.services.tenants.create({ slug: 'corp', name: 'Corp Ltd' });
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, enforceFrom: daysFrom(new Date(), 7) }, null);
  const rp = await relyingParty(t, s, { client: { name: 'Team Wiki' } });

  await page.goto((await rp.authorize()).url);
  await submitLogin(page, user.email, user.password);
  const status = page.getByRole('status');
  await status.waitFor();
  assert.match(await status.innerText(), /^Corp Ltd requires two-factor authentication from /);
  await shoot(page, 'pages-grace-names-organization');
  await page.getByRole('button', { name: 'Set up now' }).click();
  await page.getByRole('heading', { name: 'Set up two-factor authentication', level: 1 }).waitFor();
  assert.match(await page.locator('main .lead').innerText(), /^Corp Ltd will soon require two-factor authentication\./);
});

test('required enrollment names the organization; /account then offers no "Turn off" and names it; Security activity in sentences', async (t) => {
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services, { name: 'Ann Example' });
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, enforceFrom: null }, null);

  await page.goto(`${s.issuer}/account`);
  await submitLogin(page, user.email, user.password);
  await page.getByRole('heading', { name: 'Set up two-factor authentication', level: 1 }).waitFor();
  const lead = await page.locator('main .lead').innerText();
  assert.match(lead, /^Acme Inc requires two-factor authentication\. Set it up to continue/);
  await shoot(page, 'pages-enroll-names-organization');
  await page.getByText("Can't scan it? Enter the key instead").click();
  const key = (await page.locator('#totp-key').textContent())!.replace(/\s/g, '');
  await page.getByLabel('Enter the 6-digit code the app shows').fill(codeFor(key, clock.now()));
  await page.getByRole('button', { name: 'Activate' }).click();
  await page.getByLabel('I have saved these codes').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();

  assert.equal(await page.getByRole('link', { name: 'Turn off two-factor authentication' }).count(), 0, 'not offered while Acme requires it');
  assert.equal(await page.locator('#turn-off-blocked').innerText(), 'Acme Inc requires two-factor authentication, so it stays on while you are a member.');
  const activity = await page.locator('#security-activity .audit-sentence').allInnerTexts();
  assert.ok(activity.includes('Ann Example signed in to the account page with password + authenticator'), activity.join('\n'));
  assert.ok(activity.every((l) => !/\b(pwd|otp)\b/.test(l)));
  await shoot(page, 'pages-account-policy');
  // the page only hides it: the rule itself still refuses (the policy decides, not the page)
  assert.equal(await s.services.mfaPolicy.mayRemoveFactors(user.id, []), false);
});
