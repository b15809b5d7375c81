// Personal access tokens in a real Chromium: a user with 2FA creates one on /account/tokens (copy button, shown
// once), a resource server introspects it and sees mfa provenance; after 15 minutes the page asks to sign in again;
// the organization's console lists it. Screenshots on a desktop and a phone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

/** controls smaller than a fingertip, or whose text spills out of them */
const badControls = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('main button, main a.button, main input:not([type=hidden]):not([type=checkbox]), main select')]
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .filter((el) => {
        const r = el.getBoundingClientRect();
        // text spilling out of buttons and links (native inputs and selects report their own inner widths)
        return r.height < 24 || (!['INPUT', 'SELECT'].includes(el.tagName) && el.scrollWidth > el.clientWidth + 1);
      })
      .map((el) => `${el.tagName} "${(el.textContent ?? '').trim().slice(0, 30)}"`),
  );

test('personal token in Chromium: made from a 2FA session, introspected with mfa provenance; stale session steps up; organization console lists it', async (t) => {
  const context = await launchBrowser(t);
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const page = context.pages()[0] ?? (await context.newPage());
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const user = await makeUser(s.services, { name: 'Olga Owner' });
  const totp = await enrollTotp(s.services, user, clock.now());
  await s.services.tenants.addMember(tenant, user.email, 'owner', null);
  const rs = await s.services.clients.create({ name: 'Orders API', resourceServer: true });

  await page.goto(`${s.issuer}/account/tokens`);
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  clock.advance(30);
  await page.getByLabel('Authentication code', { exact: true }).fill(codeFor(totp.secret, clock.now()));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Access tokens', level: 1 }).waitFor();
  await shoot(page, 'tokens-empty', badControls);

  await page.getByLabel('Name', { exact: true }).fill('Deploy script');
  await page.getByRole('checkbox', { name: /^api/ }).check();
  await page.getByLabel('Organization (optional)').selectOption('acme');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByRole('heading', { name: 'Your new token “Deploy script”' }).waitFor();
  const token = (await page.locator('#new-token').innerText()).trim();
  assert.match(token, /^gat_[0-9A-Za-z]{39}$/);
  assert.equal(await page.getByRole('button', { name: 'Copy token' }).count(), 1);
  await shoot(page, 'tokens-created', badControls);

  const res = await fetch(`${s.issuer}/oidc/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${rs.clientId}:${rs.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ token }),
  });
  const info = (await res.json()) as Record<string, unknown>;
  assert.equal(info.active, true);
  assert.deepEqual(info.amr, ['pwd', 'otp', 'mfa']);
  assert.equal(info.tenant, 'acme');
  assert.equal(info.scope, 'openid api');

  // shown once: a reload lists it without the value
  await page.goto(`${s.issuer}/account/tokens`);
  assert.ok(!(await page.content()).includes(token));
  assert.match(await page.locator('main').innerText(), /Deploy script/);

  // 16 minutes later the form is replaced by "Sign in again"
  clock.advance(16 * 60);
  await page.reload();
  await page.getByRole('link', { name: 'Sign in again' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create token' }).count(), 0);
  await shoot(page, 'tokens-step-up', badControls);

  // the organization's console
  clock.set(new Date(clock.now().getTime() - 16 * 60 * 1000));
  await page.goto(`${s.issuer}/admin/acme/tokens`);
  await page.getByRole('heading', { name: 'Access tokens', level: 1 }).waitFor();
  assert.match(await page.locator('tr[data-token]').innerText(), /Deploy script[\s\S]*Olga Owner[\s\S]*openid api/);
  await shoot(page, 'admin-tokens', badControls);
});
