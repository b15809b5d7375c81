// The members list in Chromium after the invitation and reset changes: a signed-out deep link to the console lands on
// it after sign-in; invitees carry an "Invited" badge and are not counted; a member shared with another organization
// gets a note instead of "Reset 2FA". Screenshots at desktop and phone sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

test('members page in Chromium: deep link survives sign-in, invitees badged "Invited" and not counted, no Reset 2FA where another organization has a say', async (t) => {
  const context = await launchBrowser(t);
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const page = context.pages()[0] ?? (await context.newPage());
  const acme = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const globex = await s.services.tenants.create({ slug: 'globex', name: 'Globex' });
  const owner = await makeUser(s.services, { name: 'Olga Owner' });
  await s.services.tenants.addMember(acme, owner.email, 'owner', null);
  const ownerTotp = await enrollTotp(s.services, owner, clock.now());
  const shared = await makeUser(s.services, { name: 'Sam Shared' });
  await s.services.tenants.addMember(acme, shared.email, 'member', null);
  await s.services.tenants.addMember(globex, shared.email, 'member', null);
  await enrollTotp(s.services, shared, clock.now());
  const erin = await makeUser(s.services, { name: 'Erin Existing' });

  // signed out, straight to the settings page: after the password and code, the settings page
  await page.goto(`${s.issuer}/admin/acme/settings`);
  await page.getByLabel('Email', { exact: true }).fill(owner.email);
  await page.getByLabel('Password', { exact: true }).fill(owner.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  clock.advance(30);
  await page.getByLabel('Authentication code', { exact: true }).fill(codeFor(ownerTotp.secret, clock.now()));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/admin/acme/settings');

  // invite an existing account, then again
  await page.getByRole('link', { name: 'Members' }).click();
  await page.getByLabel('Email address').fill(erin.email);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.getByRole('status').filter({ hasText: 'Invitation sent; they join when they accept' }).waitFor();
  await page.getByLabel('Email address').fill(erin.email);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await page.getByRole('status').filter({ hasText: 'Invitation sent again' }).waitFor();

  const row = (email: string) => page.getByRole('row').filter({ hasText: email });
  assert.equal(await row(erin.email).getByText('Invited', { exact: true }).count(), 1);
  assert.match(await page.locator('#coverage').innerText(), /^2 of 2 members have 2FA$/, 'three rows; the invitee is not counted');
  assert.equal(await row(shared.email).getByRole('link', { name: /Reset 2FA/ }).count(), 0);
  assert.equal(await row(shared.email).getByRole('link', { name: /What to do/ }).count(), 1);
  await shoot(page, 'pages-members-invited');

  // a member of Acme only: the reset form, sent with a blank reason, says so beside the field
  const lou = await makeUser(s.services, { name: 'Lou Local' });
  await s.services.tenants.addMember(acme, lou.email, 'member', null);
  await enrollTotp(s.services, lou, clock.now());
  await page.goto(`${s.issuer}/admin/acme/members/${lou.id}/reset`);
  await page.getByLabel('Reason').fill('   ');
  await page.getByLabel('Your own authentication code or a recovery code').fill('123456');
  await page.getByRole('button', { name: 'Reset two-factor authentication' }).click();
  const reasonError = page.locator('#reason-error');
  await reasonError.waitFor();
  assert.equal(await page.getByLabel('Reason').getAttribute('aria-invalid'), 'true');
  assert.match((await page.getByLabel('Reason').getAttribute('aria-describedby'))!, /reason-error/);
  await shoot(page, 'pages-reset-field-error');
  await page.goto(`${s.issuer}/admin/acme`);

  await row(shared.email).getByRole('link', { name: /What to do/ }).click();
  await page.getByRole('alert').filter({ hasText: 'your Gatehouse operator' }).waitFor();
  await shoot(page, 'pages-reset-needs-others');
});
