// /join and /invite name the organization, who invited you, your role, and what the organization can do once you
// accept (require 2FA, reset it, see your sign-ins to its apps). Screenshots at desktop and phone sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { outboxLink as linkTo } from '../helpers/outbox.ts';
import { startServer } from '../helpers/server.ts';
import { daysFrom } from '../helpers/totp.ts';
import { formatDate } from '../../src/i18n/catalogue.ts';


test('invitation pages name the organization, the inviter, the role and what the organization can do once you accept', async (t) => {
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const s = await startServer(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const owner = await makeUser(s.services, { name: 'Olga Owner' });
  await s.services.tenants.addMember(tenant, owner.email, 'owner', null);
  const from = daysFrom(new Date(), 14);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, enforceFrom: from }, owner.id);

  // an existing account: /join
  const erin = await makeUser(s.services, { name: 'Erin Existing' });
  await s.services.tenants.addMember(tenant, erin.email, 'admin', owner.id);
  await page.goto(await linkTo(s, erin.email, '/join'));
  await page.getByRole('heading', { name: 'Join Acme Inc', level: 1 }).waitFor();
  const join = await page.locator('main .invitation').innerText();
  assert.match(join, new RegExp(`Olga Owner \\(${owner.email.replace(/[.]/g, '\\.')}\\) invited you to join Acme Inc as an admin\\.`));
  const long = formatDate(from, 'en', 'long');
  assert.ok(join.includes(`require two-factor authentication from ${long}`), join);
  assert.match(join, /reset your two-factor authentication if you lose your phone/);
  assert.match(join, /see your name, email address, two-factor status and your sign-ins to its apps/);
  assert.match(join, /never sees or sets your password/);
  await shoot(page, 'pages-join');
  await page.getByRole('button', { name: 'Join Acme Inc' }).click();
  await page.getByRole('heading', { name: 'You joined the organization' }).waitFor();
  assert.equal(await s.services.tenants.roleOf(tenant.id, erin.id), 'admin');

  // someone new: /invite, with the same facts above the password form
  await s.services.tenants.addMember(tenant, 'newcomer@example.com', 'member', owner.id);
  await page.goto(await linkTo(s, 'newcomer@example.com', '/invite'));
  await page.getByRole('heading', { name: 'Accept your invitation', level: 1 }).waitFor();
  assert.match(await page.locator('main .invitation').innerText(), /Olga Owner .* invited you to join Acme Inc as a member\./);
  await shoot(page, 'pages-invite');
});
