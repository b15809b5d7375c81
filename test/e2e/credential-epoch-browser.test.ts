// pending-enrollment-dies-on-reset in two real Chromium profiles: an attacker who knows the password waits at the
// forced-enrollment page; the owner sets up 2FA in their own browser and resets the password; the attacker's code
// then enrolls nothing and they are back at the password step. Screenshots of what the attacker sees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { startServer } from '../helpers/server.ts';
import { linkIn, startSmtpSink } from '../helpers/smtp.ts';
import { codeFor } from '../helpers/totp.ts';

async function signIn(page: Page, issuer: string, user: { email: string; password: string }) {
  await page.goto(`${issuer}/account`);
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function keyOnPage(page: Page): Promise<string> {
  await page.getByText("Can't scan it? Enter the key instead").click();
  return (await page.locator('#totp-key').textContent())!.replace(/\s/g, '');
}

test('pending-enrollment-dies-on-reset in Chromium: the attacker waiting at enrollment enrolls nothing after the owner sets up 2FA and resets the password', async (t) => {
  const attackerContext = await launchBrowser(t);
  const ownerContext = await launchBrowser(t);
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  const s = await startServer(t, { env: { SMTP_URL: sink.url } });
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  const victim = await makeUser(s.services);
  await s.services.tenants.addMember(tenant, victim.email, 'member', null);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);
  const attacker = attackerContext.pages()[0] ?? (await attackerContext.newPage());
  const owner = ownerContext.pages()[0] ?? (await ownerContext.newPage());

  // the attacker signs in with the known password and waits at the forced enrollment, their own key on screen
  await signIn(attacker, s.issuer, victim);
  await attacker.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
  const attackerKey = await keyOnPage(attacker);

  // the owner signs in, sets up their authenticator, saves the codes
  await signIn(owner, s.issuer, victim);
  await owner.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor();
  const ownerKey = await keyOnPage(owner);
  await owner.getByLabel('Enter the 6-digit code the app shows').fill(codeFor(ownerKey));
  await owner.getByRole('button', { name: 'Activate' }).click();
  await owner.getByLabel('I have saved these codes').check();
  await owner.getByRole('button', { name: 'Continue' }).click();
  await owner.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();

  // … and resets the password from the emailed link
  await owner.goto(`${s.issuer}/forgot-password`);
  await owner.getByLabel('Email', { exact: true }).fill(victim.email);
  await owner.getByRole('button', { name: /Send/ }).click();
  const mail = await sink.waitFor((m) => m.to.includes(victim.email) && /Reset/.test(m.subject));
  const link = linkIn(mail, '/reset-password');
  await owner.goto(link);
  await owner.getByLabel('New password', { exact: true }).fill('the owner took it back again');
  await owner.getByRole('button', { name: 'Change password' }).click();
  await owner.getByRole('heading', { name: 'Your password was changed' }).waitFor();

  // the attacker types a good code from their own authenticator: nothing is enrolled, the sign-in is over
  await attacker.getByLabel('Enter the 6-digit code the app shows').fill(codeFor(attackerKey));
  await attacker.getByRole('button', { name: 'Activate' }).click();
  // back to the password step, which the attacker's old password no longer passes
  await attacker.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  assert.doesNotMatch(await attacker.locator('main').innerText(), /recovery codes/i);
  await shoot(attacker, 'credential-change-ended-sign-in');
  await attacker.getByLabel('Email', { exact: true }).fill(victim.email);
  await attacker.getByLabel('Password', { exact: true }).fill(victim.password);
  await attacker.getByRole('button', { name: 'Sign in' }).click();
  await attacker.getByText('Incorrect email or password.').waitFor();
  const confirmed = await s.services.db.selectFrom('totp_credentials').select('id').where('user_id', '=', victim.id).where('confirmed_at', 'is not', null).execute();
  assert.equal(confirmed.length, 1, "only the owner's authenticator");
  assert.deepEqual(
    (await s.services.db.selectFrom('audit_events').select('event').where('target_user_id', '=', victim.id).where('event', 'in', ['totp.enabled', 'totp.device_added']).execute()).map((e) => e.event),
    ['totp.enabled'],
    'one enrollment, the owner\'s',
  );
});
