// Organizations and security keys in a real Chromium with a CDP virtual authenticator: "security keys only" forces a
// key on a member who uses an authenticator app (and on a member with no factor), the console shows each member's
// factor types; the removal rules; and a cloned key whose counter lags behind is refused and audited.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { redeem } from '../helpers/rp.ts';
import { relyingParty } from '../helpers/rp-listener.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, enrollTotp } from '../helpers/totp.ts';
import { addKeyFromAccount, submitLogin, virtualAuthenticator } from '../helpers/webauthn.ts';

const ACR_MFA = 'urn:gatehouse:acr:mfa';

async function setup(t: TestContext) {
  const context = await launchBrowser(t);
  const s = await startServer(t, { issuerHost: 'localhost' });
  const page = context.pages()[0] ?? (await context.newPage());
  // security keys without discoverable credentials: the sign-in page's passkey autofill finds nothing to offer (a
  // virtual authenticator would otherwise pick a passkey at once, for whoever registered it)
  const key = await virtualAuthenticator(page, { userVerification: true, residentKey: false, transport: 'usb' });
  return { s, context, page, key };
}

/** the recovery codes page of a first factor: ticked and left */
async function codesSaved(page: Page) {
  await page.getByLabel('I have saved these codes').check();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** the TOTP code a user types now (the step activation spent is over) */
const nextCode = (secret: string) => codeFor(secret, new Date(Date.now() + 30_000));

async function keysOnlyTenant(s: TestServer, members: { email: string; role: 'owner' | 'admin' | 'member' }[]) {
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  for (const m of members) await s.services.tenants.addMember(tenant, m.email, m.role, null);
  return s.services.tenants.updatePolicy(tenant, { require2fa: true, secondFactors: ['webauthn'] }, null);
}

test('security-keys-only-forces-key-enrollment for an authenticator-app member; the console shows factor types', async (t) => {
  const { s, context, page } = await setup(t);
  const member = await makeUser(s.services, { name: 'Mia Member' });
  const owner = await makeUser(s.services, { name: 'Olga Owner' });
  const totp = await enrollTotp(s.services, member);
  await keysOnlyTenant(s, [
    { email: member.email, role: 'member' },
    { email: owner.email, role: 'owner' },
  ]);

  // the member: password, then the authenticator code (which proves who they are) ...
  const rp = await relyingParty(t, s);
  const req = await rp.authorize();
  await page.goto(req.url);
  await submitLogin(page, member.email, member.password);
  await page.getByLabel('Authentication code', { exact: true }).fill(nextCode(totp.secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  // ... then a security key before anything is issued: the organization counts keys only
  await page.getByRole('heading', { name: 'Add a security key or passkey', level: 1 }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/interaction\/[^/]+\/security-key\/enroll$/);
  assert.match(await page.locator('main .lead').innerText(), /accepts only security keys and passkeys/);
  assert.equal(await page.getByRole('link', { name: 'Use an authenticator app instead' }).count(), 0, 'no app while keys only count');
  assert.deepEqual(rp.hits, [], 'the app code alone got the app nothing');
  await shoot(page, 'webauthn-sign-in-key-enroll-upgrade');
  const callback = rp.next('/callback');
  await page.getByLabel('Name of this key').fill('Work key');
  await page.getByRole('button', { name: 'Add security key or passkey' }).click();
  const claims = (await redeem(rp.config, req, await callback)).claims()!;
  // the browser's own navigation to the app must be over before the next one starts
  await page.waitForURL((u) => u.pathname === '/callback');
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'hwk', 'user', 'mfa'], 'what happened: password, app code, and the new key signing (with user verification)');
  assert.equal(claims.acr, ACR_MFA);
  assert.deepEqual(await s.services.twoFactor.factorKinds(member.id), ['webauthn', 'totp'], 'the app stays; nothing was replaced');

  // the owner, with no factor at all: a first key during the sign-in, with recovery codes shown once
  await context.clearCookies();
  await page.goto(`${s.issuer}/admin/acme`);
  await submitLogin(page, owner.email, owner.password);
  await page.getByRole('heading', { name: 'Add a security key or passkey', level: 1 }).waitFor();
  assert.match(await page.locator('main .lead').innerText(), /requires a security key or passkey/);
  await shoot(page, 'webauthn-sign-in-key-enroll-first');
  await page.getByRole('button', { name: 'Add security key or passkey' }).click();
  await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor();
  await codesSaved(page);
  // the deep link survives the sign-in (with the key enrolled on the way): back on the console
  await page.getByRole('heading', { name: 'Acme', level: 1 }).waitFor();
  const row = (email: string) => page.getByRole('row').filter({ hasText: email });
  assert.match(await row(member.email).locator('.factor-kinds').innerText(), /^Security key · Authenticator app$/);
  assert.match(await row(owner.email).locator('.factor-kinds').innerText(), /^Security key$/);
  assert.match(await page.locator('#coverage').innerText(), /2 of 2/);
  await shoot(page, 'webauthn-admin-members-factor-types');
  await page.goto(`${s.issuer}/admin/acme/settings`);
  assert.ok(await page.getByLabel('Security keys and passkeys only (phishing-resistant)').isChecked());
  await shoot(page, 'webauthn-admin-settings-keys-only');
});

test('key-removal-rules: not the last factor an organization counts; other factors keep the account; recovery codes viewable with a key', async (t) => {
  const { s, page } = await setup(t);
  const user = await makeUser(s.services);
  const totp = await enrollTotp(s.services, user);
  await page.goto(`${s.issuer}/account`);
  await submitLogin(page, user.email, user.password);
  await page.getByLabel('Authentication code', { exact: true }).fill(nextCode(totp.secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  await addKeyFromAccount(page, user, 'Desk key', { code: totp.recoveryCodes[0]! });
  await page.waitForURL(`${s.issuer}/account?done=key_added`);
  const epochBefore = (await s.services.db.selectFrom('users').select('credential_epoch').where('id', '=', user.id).executeTakeFirstOrThrow()).credential_epoch;

  // the recovery codes again, after the password and the key (no code typed)
  await page.getByText('View your recovery codes').click();
  await page.getByLabel('Confirm your password to see the codes').fill(user.password);
  await page.locator('#view-codes').getByRole('button', { name: 'Use your security key instead of a code' }).click();
  await page.getByRole('heading', { name: 'Your recovery codes', level: 1 }).waitFor();
  const shown = (await page.locator('#recovery-codes li').allInnerTexts()).map((c) => c.trim());
  assert.deepEqual(shown, totp.recoveryCodes.slice(1).sort(), 'the nine unused codes (the first one confirmed the key)');
  await shoot(page, 'webauthn-recovery-codes-view');
  assert.equal((await s.services.db.selectFrom('audit_events').select('id').where('target_user_id', '=', user.id).where('event', '=', 'recovery_codes.viewed').execute()).length, 1);
  assert.ok(await s.services.db.selectFrom('email_outbox').select('id').where('to_address', '=', user.email).where('text_body', 'like', '%recovery codes were shown%').executeTakeFirst(), 'the user is mailed');

  // an organization that counts security keys only: the key cannot go while the app is all that would remain
  const tenant = await keysOnlyTenant(s, [{ email: user.email, role: 'member' }]);
  // this session was made with an app code: it no longer counts, and the account page asks for the key
  await page.goto(`${s.issuer}/account`);
  await submitLogin(page, user.email, user.password);
  await page.getByRole('button', { name: 'Use your security key' }).click();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  const removeKey = async (expectStatus: number) => {
    await page.goto(`${s.issuer}/account`);
    await page.getByRole('link', { name: 'Remove Desk key' }).click();
    await page.getByLabel('Password', { exact: true }).fill(user.password);
    const answer = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/remove'));
    await page.getByRole('button', { name: 'Use your security key instead of a code' }).click();
    assert.equal((await answer).status(), expectStatus);
  };
  await removeKey(409);
  assert.match(await page.getByRole('alert').first().innerText(), /accepts only security keys and passkeys: keep at least one/);
  await shoot(page, 'webauthn-remove-key-refused');
  assert.equal((await s.services.twoFactor.status(user.id)).keys.length, 1);

  // the app can go: the key remains (the credential epoch moves; this session is kept)
  await page.goto(`${s.issuer}/account`);
  await page.locator('#two-factor').getByRole('link', { name: /^Remove/ }).click();
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Use your security key instead of a code' }).click();
  await page.waitForURL(`${s.issuer}/account?done=removed`);
  const epochAfter = (await s.services.db.selectFrom('users').select('credential_epoch').where('id', '=', user.id).executeTakeFirstOrThrow()).credential_epoch;
  assert.ok(epochAfter > epochBefore, 'removing a factor moves the credential epoch');

  // the key is now the last factor of all: turning 2FA off is refused while the organization requires it
  await removeKey(409);
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /Turn off two-factor authentication/);
  // without the requirement, the last key goes and 2FA is off
  await s.services.tenants.updatePolicy(tenant, { require2fa: false }, null);
  await page.goto(`${s.issuer}/account`);
  await page.getByRole('link', { name: 'Remove Desk key' }).click();
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Use your security key instead of a code' }).click();
  await page.waitForURL(`${s.issuer}/account?done=disabled`);
  assert.equal((await s.services.twoFactor.status(user.id)).enabled, false);
  assert.ok((await s.services.db.selectFrom('audit_events').select('id').where('target_user_id', '=', user.id).where('event', '=', 'totp.disabled').executeTakeFirst()));
});

test('sign-count-regression-is-audited: a cloned key whose counter lags behind is refused, audited and mailed', async (t) => {
  const { s, context, page, key } = await setup(t);
  const user = await makeUser(s.services);
  await page.goto(`${s.issuer}/account`);
  await submitLogin(page, user.email, user.password);
  await addKeyFromAccount(page, user, 'Keyring');
  await codesSaved(page);
  await page.waitForURL(`${s.issuer}/account?done=enabled`);
  const rp = await relyingParty(t, s);
  const signIn = async () => {
    await context.clearCookies();
    const req = await rp.authorize();
    await page.goto(req.url);
    await submitLogin(page, user.email, user.password);
    await page.getByRole('heading', { name: 'Use your security key', level: 1 }).waitFor();
    return req;
  };

  // a normal sign-in moves the stored counter forward
  let req = await signIn();
  const callback = rp.next('/callback');
  await page.getByRole('button', { name: 'Use your security key' }).click();
  await redeem(rp.config, req, await callback);
  // the browser's own arrival at the callback ends that navigation before the next sign-in starts one
  await page.waitForURL((u) => u.pathname === '/callback');
  const stored = Number((await s.services.db.selectFrom('webauthn_credentials').select('sign_count').where('user_id', '=', user.id).executeTakeFirstOrThrow()).sign_count);
  assert.ok(stored >= 2, `counter ${stored}`);

  // the same key material with a counter that lags behind (a copy)
  const [original] = await key.credentials();
  await key.replaceWithClone(original!, 0);
  req = await signIn();
  const answer = page.waitForResponse((r) => r.request().method() === 'POST' && /\/security-key$/.test(new URL(r.url()).pathname));
  await page.getByRole('button', { name: 'Use your security key' }).click();
  assert.equal((await answer).status(), 401);
  assert.match(await page.getByRole('alert').first().innerText(), /was not accepted/);
  assert.deepEqual(rp.hits.filter((h) => h.includes('/callback')).length, 1, 'no second code');
  await shoot(page, 'webauthn-sign-in-security-key-refused');
  const audit = await s.services.db.selectFrom('audit_events').select('data').where('target_user_id', '=', user.id).where('event', '=', 'webauthn.sign_count_regression').executeTakeFirstOrThrow();
  assert.deepEqual({ stored: (audit.data as { stored: number }).stored, presented: (audit.data as { presented: number }).presented }, { stored, presented: 1 });
  assert.ok(await s.services.db.selectFrom('email_outbox').select('id').where('to_address', '=', user.email).where('subject', 'like', '%copied%').executeTakeFirst(), 'the owner is told');
  const after = Number((await s.services.db.selectFrom('webauthn_credentials').select('sign_count').where('user_id', '=', user.id).executeTakeFirstOrThrow()).sign_count);
  assert.equal(after, stored, 'the stored counter did not go back');
});
