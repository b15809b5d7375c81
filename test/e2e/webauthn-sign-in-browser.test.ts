// Security keys and passkeys in a real Chromium with a CDP virtual authenticator, against a real Gatehouse (issuer
// http://localhost:<port>: browsers refuse IP addresses as WebAuthn RP IDs) and an openid-client RP: a key added from
// /account, password + key, passkey sign-in without a password, and a passkey without user verification.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { redeem } from '../helpers/rp.ts';
import { relyingParty } from '../helpers/rp-listener.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { addKeyFromAccount, submitLogin, virtualAuthenticator, type VirtualAuthenticatorOptions } from '../helpers/webauthn.ts';

type User = Awaited<ReturnType<typeof makeUser>>;
const ACR_MFA = 'urn:gatehouse:acr:mfa';
const ACR_PWD = 'urn:gatehouse:acr:pwd';

async function setup(t: TestContext, authenticator: VirtualAuthenticatorOptions = {}) {
  const context = await launchBrowser(t);
  const s = await startServer(t, { issuerHost: 'localhost' });
  const user = await makeUser(s.services);
  const page = context.pages()[0] ?? (await context.newPage());
  const key = await virtualAuthenticator(page, authenticator);
  return { s, user, context, page, key };
}

/** /account, signed in with the password (and nothing else: the user has no factor yet) */
async function signInToAccount(page: Page, s: TestServer, user: User) {
  await page.goto(`${s.issuer}/account`);
  await submitLogin(page, user.email, user.password);
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
}

test('register-key-from-account-then-password-and-key-gives-hwk-and-mfa', async (t) => {
  const { s, user, context, page, key } = await setup(t, { userVerification: true, residentKey: false, transport: 'usb' });
  await signInToAccount(page, s, user);
  await addKeyFromAccount(page, user, 'YubiKey on my keyring', { screenshot: (p, name) => shoot(p, `webauthn-${name}`) });

  // the first factor of the account: two-factor authentication is on, with recovery codes shown once
  await page.getByRole('heading', { name: 'Two-factor authentication is on' }).waitFor();
  assert.equal((await page.locator('#recovery-codes li').allInnerTexts()).length, 10);
  await page.getByLabel('I have saved these codes').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${s.issuer}/account?done=enabled`);
  const keys = page.locator('#key-list li');
  assert.equal(await keys.count(), 1);
  assert.match(await keys.innerText(), /YubiKey on my keyring[\s\S]*Security key[\s\S]*Added/);
  assert.equal((await key.credentials()).length, 1, 'the authenticator holds one credential');
  const row = await s.services.db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
  assert.ok(row.confirmed_at, 'active: it signed once after registration');
  assert.deepEqual(row.transports, ['usb']);
  assert.equal(row.backup_eligible, false);
  assert.ok((await s.services.db.selectFrom('audit_events').select('event').where('target_user_id', '=', user.id).where('event', '=', 'webauthn.added').execute()).length === 1);
  await shoot(page, 'webauthn-account-with-key');

  // a fresh sign-in to an RP: the password, then the key, offered first
  await context.clearCookies();
  const rp = await relyingParty(t, s);
  const req = await rp.authorize();
  await page.goto(req.url);
  await submitLogin(page, user.email, user.password);
  await page.getByRole('heading', { name: 'Use your security key', level: 1 }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/interaction\/[^/]+\/security-key$/);
  assert.ok(await page.getByRole('link', { name: 'Use a recovery code instead' }).isVisible());
  assert.deepEqual(rp.hits, [], 'the password alone got the app nothing');
  await shoot(page, 'webauthn-sign-in-security-key');
  const callback = rp.next('/callback');
  await page.getByRole('button', { name: 'Use your security key' }).click();
  const claims = (await redeem(rp.config, req, await callback)).claims()!;
  const amr = claims.amr as string[];
  assert.ok(amr.includes('pwd') && amr.includes('hwk') && amr.includes('mfa'), `amr ${amr}`);
  assert.ok(!amr.includes('swk'), 'a hardware-bound key, not a synced passkey');
  // the key step asked for no user verification ("discouraged"): Chromium's virtual authenticator skips it, so no "user"
  assert.deepEqual(amr, ['pwd', 'hwk', 'mfa']);
  assert.equal(claims.acr, ACR_MFA);
  assert.equal(claims.sub, user.id);
});

test('passkey-sign-in-without-password-gives-acr-mfa: autofill and the button', async (t) => {
  const { s, user, context, page, key } = await setup(t, { userVerification: true, residentKey: true, synced: true });
  await signInToAccount(page, s, user);
  await addKeyFromAccount(page, user, 'Phone passkey');
  await page.getByRole('heading', { name: 'Two-factor authentication is on' }).waitFor();
  await page.getByLabel('I have saved these codes').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${s.issuer}/account?done=enabled`);
  assert.match(await page.locator('#key-list li').innerText(), /Passkey, synced between your devices/);
  const rp = await relyingParty(t, s);

  // autofill (conditional mediation): the browser offers the passkey in the email field; choosing it signs in
  await context.clearCookies();
  let req = await rp.authorize();
  let callback = rp.next('/callback');
  await page.goto(req.url);
  let claims = (await redeem(rp.config, req, await callback)).claims()!;
  assert.deepEqual(claims.amr, ['swk', 'user', 'mfa'], 'synced passkey with user verification: two factors, no password');
  assert.equal(claims.acr, ACR_MFA);
  assert.equal(claims.sub, user.id);

  // the button: the key is plugged in after the page loaded (autofill found nothing), then "Use a passkey"
  // (first let the browser finish arriving at the callback: the RP hears it before the page commits the navigation)
  await page.waitForURL(/\/callback\?/);
  await context.clearCookies();
  const saved = await key.unplug();
  req = await rp.authorize();
  await page.goto(req.url);
  await page.getByRole('button', { name: 'Use a passkey' }).waitFor();
  assert.equal(await page.getByLabel('Email', { exact: true }).getAttribute('autocomplete'), 'username webauthn', 'passkey autofill');
  await shoot(page, 'webauthn-sign-in-page-with-passkey');
  await key.plugIn(saved);
  callback = rp.next('/callback');
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  claims = (await redeem(rp.config, req, await callback)).claims()!;
  assert.deepEqual(claims.amr, ['swk', 'user', 'mfa']);
  assert.equal(claims.acr, ACR_MFA);
  const audit = await s.services.db.selectFrom('audit_events').select(['event', 'data']).where('target_user_id', '=', user.id).where('event', '=', 'login.succeeded').orderBy('id', 'desc').executeTakeFirstOrThrow();
  assert.equal((audit.data as { method?: string }).method, 'passkey');
});

test('passkey-without-user-verification-does-not-satisfy-2fa', async (t) => {
  const { s, user, context, page, key } = await setup(t, { userVerification: true, residentKey: true });
  await signInToAccount(page, s, user);
  await addKeyFromAccount(page, user, 'Key without PIN');
  await page.getByRole('heading', { name: 'Two-factor authentication is on' }).waitFor();
  await page.getByLabel('I have saved these codes').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${s.issuer}/account?done=enabled`);
  // an organization that requires 2FA
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);

  await context.clearCookies();
  const rp = await relyingParty(t, s);
  const req = await rp.authorize();
  // a client that skips user verification: the request Gatehouse sends (userVerification "preferred") reaches the
  // authenticator as "discouraged", so the passkey signs without PIN or biometric (UV flag 0) over a genuine challenge
  await page.route('**/passkey/options', async (route) => {
    const response = await route.fetch();
    const json = (await response.json()) as { options: { userVerification?: string } };
    json.options.userVerification = 'discouraged';
    await route.fulfill({ response, json });
  });
  const saved = await key.unplug();
  assert.ok(saved[0]!.isResidentCredential, 'a discoverable credential');
  await page.goto(req.url);
  await page.getByRole('button', { name: 'Use a passkey' }).waitFor();
  await key.plugIn(saved);
  const answer = page.waitForResponse((r) => r.request().method() === 'POST' && /\/passkey$/.test(new URL(r.url()).pathname));
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  assert.equal((await answer).status(), 401);
  const again = await key.unplug(); // (the virtual authenticator would pick the passkey from autofill at once, again)
  await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  assert.match(await page.getByRole('alert').innerText(), /counts as one factor only/);
  assert.deepEqual(rp.hits, [], 'no code for a one-factor sign-in');
  await shoot(page, 'webauthn-passkey-one-factor-refused');
  const failed = await s.services.db.selectFrom('audit_events').select('data').where('target_user_id', '=', user.id).where('event', '=', 'login.failed').orderBy('id', 'desc').executeTakeFirstOrThrow();
  assert.equal((failed.data as { reason?: string }).reason, 'no_user_verification');

  // the same key after the password is a second factor: [pwd, hwk, mfa], which satisfies the organization
  await page.unroute('**/passkey/options');
  const callback = rp.next('/callback');
  await submitLogin(page, user.email, user.password);
  await page.getByRole('heading', { name: 'Use your security key', level: 1 }).waitFor();
  await key.plugIn(again);
  await page.getByRole('button', { name: 'Use your security key' }).click();
  const claims = (await redeem(rp.config, req, await callback)).claims()!;
  assert.deepEqual(claims.amr, ['pwd', 'hwk', 'mfa']);
  assert.equal(claims.acr, ACR_MFA);
  assert.notEqual(claims.acr, ACR_PWD);
});
