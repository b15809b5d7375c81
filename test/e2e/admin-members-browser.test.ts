// The organization console in a real Chromium: the members list shows a shield for members with 2FA and a grey,
// struck-through "2FA" for those without; turning the requirement on goes through the "who would be blocked"
// preview; then the list shows "pending until" and "overdue". Screenshots on a desktop and a 375px phone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, dayText, daysFrom, enrollTotp, fixedClock, isoDay, stepStart } from '../helpers/totp.ts';

const T0 = stepStart(); // the real time (whatever the date), rounded down to a TOTP step

/** controls smaller than a fingertip, or whose text spills out of them (checkboxes and radio buttons: their label is the target) */
const badControls = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('main a.small-button, main button, main select, main input:not([type=hidden]):not([type=checkbox]):not([type=radio])')]
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width < 44 || r.height < 24 || el.scrollWidth > el.clientWidth + 1;
      })
      .map((el) => `${el.tagName} "${(el.textContent ?? '').trim().slice(0, 30)}" ${Math.round(el.getBoundingClientRect().width)}px`),
  );


const row = (page: Page, email: string) => page.getByRole('row').filter({ hasText: email });

test('members list in Chromium: shield for enrolled, struck through for not enrolled; settings preview; pending and overdue; desktop and phone', async (t) => {
  const context = await launchBrowser(t);
  const clock = fixedClock(T0);
  const s: TestServer = await startServer(t, { clock });
  const page = context.pages()[0] ?? (await context.newPage());

  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const add = async (name: string, role: 'owner' | 'admin' | 'member', email?: string) => {
    const u = await makeUser(s.services, { name, email });
    await s.services.tenants.addMember(tenant, u.email, role, null);
    return u;
  };
  const owner = await add('Olga Owner', 'owner');
  const ownerTotp = await enrollTotp(s.services, owner, clock.now());
  const alice = await add('Alice Enrolled', 'admin');
  await enrollTotp(s.services, alice, clock.now());
  const bob = await add('Bob Plain', 'member');
  const carol = await add('Carol Late', 'member');
  const long = await add('Maximilian Alexander Featherstonehaugh-Worthington', 'member', 'maximilian.alexander.featherstonehaugh@engineering.example-company.com');
  const aliceSignIn = daysFrom(T0, -5, '09:30');
  await s.services.db.updateTable('tenant_members').set({ last_sign_in_at: aliceSignIn, last_sign_in_amr: ['pwd', 'otp', 'mfa'] }).where('user_id', '=', alice.id).execute();
  await s.services.db.updateTable('tenant_members').set({ last_sign_in_at: daysFrom(T0, -4, '10:00'), last_sign_in_amr: ['pwd'] }).where('user_id', '=', bob.id).execute();

  // sign in: /admin → Gatehouse's sign-in → password → code → back on /admin
  await page.goto(`${s.issuer}/admin`);
  await page.getByLabel('Email', { exact: true }).fill(owner.email);
  await page.getByLabel('Password', { exact: true }).fill(owner.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  clock.advance(30);
  await page.getByLabel('Authentication code', { exact: true }).fill(codeFor(ownerTotp.secret, clock.now()));
  await page.getByRole('button', { name: 'Verify' }).click();
  // the deep link survives the sign-in: back on /admin, not on the account page
  await page.getByRole('heading', { name: 'Organizations', level: 1 }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/admin');
  await shoot(page, 'admin-organizations', badControls);
  await page.getByRole('link', { name: 'Acme Inc' }).click();
  await page.getByRole('heading', { name: 'Acme Inc', level: 1 }).waitFor();

  // the enrolled member's row has the shield, named for assistive technology; the others are struck through
  const aliceShield = row(page, alice.email).getByRole('img', { name: 'Two-factor authentication on' });
  assert.equal(await aliceShield.count(), 1);
  assert.equal(await aliceShield.evaluate((el) => el.tagName.toLowerCase()), 'svg');
  assert.equal(await row(page, bob.email).getByRole('img', { name: 'Two-factor authentication on' }).count(), 0);
  const struck = row(page, bob.email).locator('.tfa-off s');
  assert.equal(await struck.innerText(), '2FA');
  assert.match(await struck.evaluate((el) => getComputedStyle(el).textDecorationLine), /line-through/);
  const grey = await struck.evaluate((el) => getComputedStyle(el).color);
  const green = await row(page, alice.email).locator('.tfa-on').evaluate((el) => getComputedStyle(el).color);
  assert.notEqual(grey, green, 'not-enrolled is greyed out');
  assert.equal(await row(page, alice.email).locator('.tfa-off').count(), 0);
  assert.match(await row(page, bob.email).innerText(), /Two-factor authentication not set up/, 'the struck-through state has words too');
  assert.match(await page.locator('#coverage').innerText(), /^2 of 5 members have 2FA$/);
  assert.match(await row(page, alice.email).innerText(), new RegExp(`${dayText(aliceSignIn)}\\s+password \\+ 2FA`));
  // every control has a name
  for (const select of await page.locator('select').all()) assert.ok(await select.evaluate((el) => (el as HTMLSelectElement).labels?.length), 'select without a label');
  await shoot(page, 'admin-members', badControls);

  // keyboard: the role control is reachable and shows a focus ring
  await page.locator(`#role-${bob.id}`).focus();
  assert.notEqual(await page.locator(`#role-${bob.id}`).evaluate((el) => getComputedStyle(el).outlineStyle), 'none');

  // turn the requirement on with a grace period: the preview names who would be blocked; nothing saved before confirming
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByLabel('Require two-factor authentication for every member').check();
  const from = isoDay(daysFrom(T0, 7));
  const fromText = dayText(new Date(`${from}T00:00:00Z`));
  await page.getByLabel('Required from (optional)').fill(from);
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByRole('heading', { name: 'Check before saving' }).waitFor();
  const blocked = page.getByRole('list', { name: 'Members without two-factor authentication' });
  for (const u of [bob, carol, long]) assert.match(await blocked.innerText(), new RegExp(u.name!));
  assert.doesNotMatch(await blocked.innerText(), /Alice|Olga/);
  assert.equal((await s.services.tenants.bySlug('acme')).require2fa, false);
  await shoot(page, 'admin-settings-preview', badControls);
  await page.getByRole('button', { name: `Require two-factor authentication from ${fromText}` }).click();
  await page.getByText('The settings were saved.').waitFor();
  assert.equal((await s.services.tenants.bySlug('acme')).require2fa, true);
  await shoot(page, 'admin-settings', badControls);

  // Carol's own deadline has passed: overdue; Bob is pending until the date
  await s.services.db.updateTable('tenant_members').set({ mfa_deadline: daysFrom(T0, -1) }).where('user_id', '=', carol.id).execute();
  await page.getByRole('link', { name: 'Members' }).click();
  await page.getByRole('heading', { name: 'Acme Inc', level: 1 }).waitFor();
  assert.match(await row(page, bob.email).locator('.status').innerText(), new RegExp(`Pending until ${fromText}`));
  assert.match(await row(page, carol.email).locator('.status').innerText(), /Overdue/);
  assert.match(await row(page, carol.email).locator('.tfa-off s').evaluate((el) => getComputedStyle(el).textDecorationLine), /line-through/);
  await shoot(page, 'admin-members-rollout', badControls);

  // the reset confirmation and the audit log
  await row(page, alice.email).getByRole('link', { name: /Reset 2FA/ }).click();
  await page.getByLabel('Reason').waitFor();
  await shoot(page, 'admin-reset', badControls);
  await page.goto(`${s.issuer}/admin/acme/audit`);
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  assert.ok((await page.locator('li[data-event="tenant.policy_changed"]').count()) >= 1);
  await shoot(page, 'admin-audit', badControls);
});
