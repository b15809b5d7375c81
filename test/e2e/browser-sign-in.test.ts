// Sign-in, SSO, consent and logout in a real Chromium against a real Gatehouse and an openid-client RP.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Page, Response } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { authorizationRequest, redeem } from '../helpers/rp.ts';
import { relyingParty, type Rp } from '../helpers/rp-listener.ts';
import { startServer } from '../helpers/server.ts';

const BAD_LOGIN = 'Incorrect email or password.';
type User = Awaited<ReturnType<typeof makeUser>>;

async function setup(t: TestContext) {
  // after-hooks run in registration order: the browser's connections go before the server waits for them
  const context = await launchBrowser(t);
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const page = context.pages()[0] ?? (await context.newPage());
  return { s, user, page };
}

async function submitLogin(page: Page, email: string, password: string) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** signs in through the form; returns the ID token claims the RP gets */
async function signIn(page: Page, rp: Rp, user: User) {
  const req = await rp.authorize();
  await page.goto(req.url);
  const callback = rp.next('/callback');
  await submitLogin(page, user.email, user.password);
  return (await redeem(rp.config, req, await callback)).claims()!;
}

function endSessionUrl(rp: Rp, params: Record<string, string>): string {
  const url = new URL(rp.config.serverMetadata().end_session_endpoint!);
  url.search = new URLSearchParams({ client_id: rp.client.clientId, ...params }).toString();
  return url.href;
}

test('browser sign-in through an RP gives an ID token with amr pwd', async (t) => {
  const { s, user, page } = await setup(t);
  const rp = await relyingParty(t, s);
  const req = await rp.authorize();
  await page.goto(req.url);
  await screenshot(page, 'sign-in-desktop');
  const callback = rp.next('/callback');
  await submitLogin(page, user.email, user.password);
  const claims = (await redeem(rp.config, req, await callback)).claims()!;
  assert.deepEqual(claims.amr, ['pwd']);
  assert.equal(claims.acr, 'urn:gatehouse:acr:pwd');
  assert.equal(claims.sub, user.id);
});

test('SSO: a second client signs in without typing', async (t) => {
  const { s, user, page } = await setup(t);
  const first = await signIn(page, await relyingParty(t, s), user);
  const rp = await relyingParty(t, s, { client: { name: 'Second App' } });
  const req = await rp.authorize();
  const shown: string[] = []; // documents that rendered (not redirects)
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && !(r.status() >= 300 && r.status() < 400)) shown.push(r.url());
  });
  const callback = rp.next('/callback');
  await page.goto(req.url);
  const callbackUrl = await callback;
  assert.deepEqual(shown, [callbackUrl], 'no Gatehouse page, so no password field, was shown on the way');
  const claims = (await redeem(rp.config, req, callbackUrl)).claims()!;
  assert.equal(claims.sub, first.sub);
  assert.equal(claims.sub, user.id);
});

test('wrong password shows one generic error and keeps the typed email', async (t) => {
  const { s, user, page } = await setup(t);
  const rp = await relyingParty(t, s);
  await page.goto((await rp.authorize()).url);
  const isLoginPost = (r: Response) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/login');
  for (const [email, password] of [[user.email, 'not the password'], ['nobody@example.com', user.password]] as const) {
    const [response] = await Promise.all([page.waitForResponse(isLoginPost), page.waitForEvent('load'), submitLogin(page, email, password)]);
    assert.equal(response.status(), 401);
    assert.deepEqual(await page.getByRole('alert').allInnerTexts(), [BAD_LOGIN]);
    assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), email);
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the password is never echoed back');
    if (email === user.email) await screenshot(page, 'sign-in-error');
  }
});

test('login form fields carry the standard autocomplete tokens', async (t) => {
  const { s, page } = await setup(t);
  await page.goto((await (await relyingParty(t, s)).authorize()).url);
  const visibleLabels = (el: HTMLInputElement) => [...(el.labels ?? [])].filter((l) => l.checkVisibility()).map((l) => l.textContent?.trim());
  for (const [label, type, autocomplete] of [['Email', 'email', 'username'], ['Password', 'password', 'current-password']]) {
    const input = page.getByLabel(label!, { exact: true });
    assert.equal(await input.getAttribute('type'), type);
    assert.equal(await input.getAttribute('autocomplete'), autocomplete);
    assert.deepEqual(await input.evaluate(visibleLabels), [label], `a visible <label> is associated with the ${label} field`);
  }
});

test('consent page for a third-party client', async (t) => {
  const { s, user, page } = await setup(t);
  const rp = await relyingParty(t, s, { client: { name: 'Photo Printer', firstParty: false } });
  const req = await rp.authorize();
  await page.goto(req.url);
  await submitLogin(page, user.email, user.password);
  await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
  assert.match(await page.locator('main').innerText(), /Photo Printer would like to:/);
  assert.deepEqual(await page.getByRole('listitem').allInnerTexts(), ['Know who you are', 'See your email address', 'See your name and whether you use two-factor authentication']);
  await screenshot(page, 'consent');
  assert.deepEqual(rp.hits, [], 'nothing reaches the app before the user allows it');
  const callback = rp.next('/callback');
  await page.getByRole('button', { name: 'Allow' }).click();
  const tokens = await redeem(rp.config, req, await callback);
  assert.equal(tokens.claims()!.sub, user.id);
  assert.deepEqual(tokens.scope?.split(' ').sort(), ['email', 'openid', 'profile']);
});

test('RP-initiated logout without id_token_hint asks for confirmation', async (t) => {
  const { s, user, page } = await setup(t);
  const rp = await relyingParty(t, s);
  await signIn(page, rp, user);
  await page.goto(endSessionUrl(rp, { post_logout_redirect_uri: `${rp.origin}/logged-out` }));
  await page.getByRole('button', { name: 'Yes, sign me out' }).waitFor();
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Sign out?');
  assert.equal(new URL(page.url()).origin, s.issuer);
  await screenshot(page, 'logout-confirm');
  assert.ok(!rp.hits.some((u) => u.includes('/logged-out')), 'the page waits for the user');
  const loggedOut = rp.next('/logged-out');
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await loggedOut;
  await page.goto((await rp.authorize()).url);
  await page.getByLabel('Password', { exact: true }).waitFor();
});

test('logout without a post-logout URI ends on our signed-out page', async (t) => {
  const { s, user, page } = await setup(t);
  const rp = await relyingParty(t, s);
  await signIn(page, rp, user);
  await page.goto(endSessionUrl(rp, {}));
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
  assert.match(await page.locator('main').innerText(), /You have signed out of Gatehouse\./);
  await screenshot(page, 'logout-success');
  await page.goto((await rp.authorize()).url);
  await page.getByLabel('Password', { exact: true }).waitFor();
});

test('pages fit a phone screen', async (t) => {
  const { s, page } = await setup(t);
  const rp = await relyingParty(t, s);
  await page.setViewportSize({ width: 375, height: 667 });
  const fits = async (name: string) => {
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 375, `${name} is no wider than the phone`);
    await screenshot(page, name);
  };
  await page.goto((await rp.authorize()).url);
  await fits('sign-in-phone');
  await Promise.all([page.waitForEvent('load'), submitLogin(page, 'nobody@example.com', 'wrong')]);
  await page.getByRole('alert').waitFor();
  await fits('sign-in-error-phone');
  await page.goto((await authorizationRequest(rp.config, `${rp.origin}/not-registered`)).url);
  await page.getByRole('alert').waitFor();
  await fits('provider-error-phone');
});

test('pages load nothing from third parties', async (t) => {
  const { s, user, page } = await setup(t);
  const rp = await relyingParty(t, s);
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  await signIn(page, rp, user);
  const allowed = [new URL(s.issuer).origin, rp.origin];
  assert.deepEqual(urls.filter((u) => !allowed.includes(new URL(u).origin)), []);
  assert.ok(urls.includes(`${s.issuer}/static/gatehouse.css`), 'the page assets were recorded');
  assert.ok(urls.some((u) => u.startsWith(`${rp.origin}/callback?`)), 'the whole flow was recorded');
});

test('an unregistered redirect_uri gets our error page, not a redirect', async (t) => {
  const { s, page } = await setup(t);
  const rp = await relyingParty(t, s);
  const response = await page.goto((await authorizationRequest(rp.config, `${rp.origin}/not-registered`)).url);
  assert.equal(response?.status(), 400);
  assert.equal(new URL(page.url()).origin, s.issuer);
  assert.deepEqual(rp.hits, []);
  await page.getByRole('heading', { name: 'We could not complete this request' }).waitFor();
  assert.match(await page.getByRole('alert').innerText(), /address Gatehouse does not know/);
  assert.match(await page.locator('main').innerText(), /invalid_redirect_uri/);
  await screenshot(page, 'provider-error');
});
