// Apache httpd + mod_auth_openidc (Debian packages, unchanged) protecting a page on loopback, signed in to by a real
// headless Chromium: password + TOTP reaches the page with amr mfa; a location that demands the mfa acr steps a
// password-only session up; RP-initiated logout ends both sessions and comes back to the app.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor, enrollTotp } from '../helpers/totp.ts';
import { apacheOrigin, parsePrintenv, startApache } from './support/apache.ts';

const ACR_MFA = 'urn:gatehouse:acr:mfa';
const ACR_PWD = 'urn:gatehouse:acr:pwd';

async function setup(t: TestContext) {
  const context = await launchBrowser(t); // first: its connections close before the servers wait for them
  const s = await startServer(t);
  const origin = await apacheOrigin();
  const client = await makeClient(s.services, {
    name: 'Apache app',
    redirectUris: [`${origin}/protected/redirect_uri`],
    postLogoutRedirectUris: [`${origin}/logged-out.html`],
  });
  const apache = await startApache(t, { origin, issuer: s.issuer, clientId: client.clientId, clientSecret: client.clientSecret! });
  const page = context.pages()[0] ?? (await context.newPage());
  return { s, apache, page, context };
}

async function signIn(page: Page, user: { email: string; password: string }) {
  await page.getByLabel('Email', { exact: true }).fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function enterCode(page: Page, code: string) {
  await page.getByLabel('Authentication code').fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
}

/** the environment mod_auth_openidc handed to the protected page */
async function envOn(page: Page, path: string): Promise<Record<string, string>> {
  await page.waitForURL((u) => u.pathname.startsWith(path) && !u.pathname.includes('redirect_uri'));
  return parsePrintenv(await page.locator('#env').innerText());
}

describe('Apache mod_auth_openidc', () => {
  test('password + TOTP in Chromium: the page sees OIDC_CLAIM_amr with mfa', async (t) => {
    const { s, apache, page } = await setup(t);
    const user = await makeUser(s.services);
    // enrolled with the previous step's code, so the code typed below (this step's) is not a replay
    const { secret } = await enrollTotp(s.services, user, new Date(Date.now() - 30_000));
    await page.goto(`${apache.origin}/protected/`);
    assert.ok(page.url().startsWith(`${s.issuer}/interaction/`), `sent to Gatehouse, at ${page.url()}`);
    await signIn(page, user);
    await page.waitForURL(/\/totp$/);
    await enterCode(page, codeFor(secret));
    const env = await envOn(page, '/protected/');
    assert.equal(env.OIDC_CLAIM_sub, user.id);
    assert.equal(env.OIDC_CLAIM_email, user.email);
    assert.deepEqual(env.OIDC_CLAIM_amr?.split(','), ['pwd', 'otp', 'mfa'], apache.errorLog());
    assert.equal(env.OIDC_CLAIM_acr, ACR_MFA);
    assert.equal(env.OIDC_CLAIM_iss, s.issuer);
  });

  test('step-up: /protected/mfa forces the second factor over a password-only session', async (t) => {
    const { s, apache, page } = await setup(t);
    const user = await makeUser(s.services);
    await page.goto(`${apache.origin}/protected/`);
    await signIn(page, user);
    const weak = await envOn(page, '/protected/');
    assert.equal(weak.OIDC_CLAIM_amr, 'pwd');
    assert.equal(weak.OIDC_CLAIM_acr, ACR_PWD);

    // the user turns on 2FA from this browser's account page: that session carries on, still password-only
    const session = await s.services.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Session').where('account_id', '=', user.id).executeTakeFirstOrThrow();
    const pending = await s.services.twoFactor.startEnrollment(user, 'Phone');
    await s.services.twoFactor.activate(user, pending.credentialId, codeFor(pending.secret, new Date(Date.now() - 30_000)), { sessionId: session.id });

    // the mfa location: Apache's session (acr pwd) fails `Require claim acr:…mfa`, so it sends the browser back to
    // Gatehouse with acr_values=…mfa, and Gatehouse's SSO session is not enough for that
    await page.goto(`${apache.origin}/protected/mfa/`);
    await page.waitForURL((u) => u.href.startsWith(`${s.issuer}/interaction/`)); // (through a page that moves on by itself)
    await page.getByText('requires two-factor authentication').waitFor();
    await signIn(page, user);
    await page.waitForURL(/\/totp$/);
    await enterCode(page, codeFor(pending.secret));
    const strong = await envOn(page, '/protected/mfa/');
    assert.equal(strong.OIDC_CLAIM_acr, ACR_MFA, apache.errorLog());
    assert.deepEqual(strong.OIDC_CLAIM_amr?.split(','), ['pwd', 'otp', 'mfa']);
  });

  test('RP-initiated logout returns to the app and ends the Gatehouse session', async (t) => {
    const { s, apache, page } = await setup(t);
    const user = await makeUser(s.services);
    await page.goto(`${apache.origin}/protected/`);
    await signIn(page, user);
    await envOn(page, '/protected/');

    // mod_auth_openidc's logout: redirect_uri?logout=<return URL> → end_session with its id_token_hint
    await page.goto(`${apache.redirectUri}?logout=${encodeURIComponent(apache.loggedOutUri)}`);
    await page.waitForURL(apache.loggedOutUri);
    await page.getByRole('heading', { name: 'Signed out of the app' }).waitFor();
    const sessions = await s.services.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Session').where('account_id', '=', user.id).execute();
    assert.equal(sessions.length, 0, 'the Gatehouse session is gone');

    // the app's session is gone too: the protected page sends the browser to sign in again
    await page.goto(`${apache.origin}/protected/`);
    assert.ok(page.url().startsWith(`${s.issuer}/interaction/`), `signed out of both, at ${page.url()}`);
    await page.getByLabel('Password', { exact: true }).waitFor();
  });
});
