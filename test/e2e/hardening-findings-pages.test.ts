// Issue 13, section 4, the pages that changed, in a real Chromium at desktop and phone sizes: the consent page lists
// claims asked for through the `claims` parameter, the sign-out page asks when the hint is another session's, and
// the device page posted without its session is a 400 page with a way back.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { HttpBrowser, redeem, signInOverHttp } from '../helpers/rp.ts';
import { relyingParty } from '../helpers/rp-listener.ts';
import { startServer } from '../helpers/server.ts';

async function setup(t: TestContext) {
  const context = await launchBrowser(t);
  const s = await startServer(t);
  const page = context.pages()[0] ?? (await context.newPage());
  return { s, page };
}

async function submitLogin(page: Page, user: { email: string; password: string }) {
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('consent-lists-claims-requested-through-the-claims-parameter (Chromium)', async (t) => {
  const { s, page } = await setup(t);
  const user = await makeUser(s.services, { name: 'Claire Claims' });
  const claims = JSON.stringify({ id_token: { email: null, name: null, two_factor_enabled: null } });
  const rp = await relyingParty(t, s, { client: { name: 'Photo Printer', firstParty: false }, params: { scope: 'openid', claims } });
  const req = await rp.authorize();
  await page.goto(req.url);
  await submitLogin(page, user);
  await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
  assert.deepEqual(await page.locator('ul.scopes li').allInnerTexts(), [
    'Know who you are',
    'See your email address',
    'See your name',
    'See whether you use two-factor authentication',
  ]);
  await shoot(page, 'consent-claims-parameter');
  const callback = rp.next('/callback');
  await page.getByRole('button', { name: 'Allow' }).click();
  const released = (await redeem(rp.config, req, await callback)).claims()!;
  assert.equal(released.email, user.email);
  assert.equal(released.name, 'Claire Claims');
  assert.equal(released.two_factor_enabled, false);
});

test('logout-hint-of-another-session-asks-first (Chromium)', async (t) => {
  const { s, page } = await setup(t);
  const victim = await makeUser(s.services);
  const rp = await relyingParty(t, s, { client: { name: 'Photo Printer' } });
  const req = await rp.authorize();
  await page.goto(req.url);
  const callback = rp.next('/callback');
  await submitLogin(page, victim);
  await callback;
  // the attacker's own valid ID token for the same app, from another browser
  const attacker = await makeUser(s.services);
  const theirs = await rp.authorize();
  const signedIn = await signInOverHttp(new HttpBrowser(), theirs.url, rp.client.redirectUri, attacker);
  const hint = (await redeem(rp.config, theirs, signedIn.callbackUrl!)).id_token!;
  const url = new URL(rp.config.serverMetadata().end_session_endpoint!);
  url.search = new URLSearchParams({ id_token_hint: hint }).toString();
  await page.goto(url.href);
  await page.getByRole('heading', { name: 'Sign out?' }).waitFor();
  await page.waitForTimeout(300);
  assert.match(page.url(), /\/oidc\/session\/end\?/, 'the page did not submit itself');
  assert.match(await page.locator('main').innerText(), /different account or an earlier sign-in/);
  await shoot(page, 'logout-other-session');
  // the victim chooses to stay: still signed in to the app
  const again = await rp.authorize();
  const next = rp.next('/callback');
  await page.goto(again.url);
  assert.ok(await next, 'SSO still works: the session was not ended');
});

test('device-page-posted-without-a-session-is-400-with-security-headers (Chromium)', async (t) => {
  const { s, page } = await setup(t);
  await page.goto(`${s.issuer}/oidc/device`);
  await page.context().clearCookies();
  await page.getByLabel('Code').fill('BCDF-GHJK');
  const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Continue' }).click()]);
  assert.equal(response.status(), 400);
  assert.match(String(response.headers()['content-security-policy']), /frame-ancestors 'none'/);
  await page.getByRole('link', { name: 'Start again' }).waitFor();
  await shoot(page, 'device-without-session');
  await page.getByRole('link', { name: 'Start again' }).click();
  await page.getByRole('heading', { name: 'Connect a device' }).waitFor();
});
