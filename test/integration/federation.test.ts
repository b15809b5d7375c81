// Federation with a second Gatehouse as the upstream OpenID provider (real HTTP on loopback, its own database).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import { beginAtApp, continueWithUpstream, idTokenClaims, link, localCode, startFederation, upstreamUser, type FederationSetup } from '../helpers/federation.ts';
import { formOn } from '../helpers/http-browser.ts';
import { enrollTotp } from '../helpers/totp.ts';

/** a member of an organization that requires 2FA (and allows the upstream), with a local authenticator */
async function twoFactorMember(setup: FederationSetup, email: string) {
  const s = setup.gatehouse.services;
  const user = await makeUser(s, { email });
  const { secret } = await enrollTotp(s, user, new Date(Date.now() - 30_000));
  const org = await s.tenants.create({ slug: `org-${Date.now() % 100000}`, name: 'Acme' });
  await s.tenants.updatePolicy(org, { require2fa: true, allowedMethods: ['password', setup.upstreamName] }, null);
  await s.tenants.addMember(org, email, 'member', null);
  return { user, secret };
}

test('federation-cannot-bypass-2fa: upstream password only → a 2FA-required member must do local TOTP, amr [fed, otp, mfa]', async (t) => {
  const setup = await startFederation(t);
  const remote = await upstreamUser(setup, 'ada@example.com');
  const { user, secret } = await twoFactorMember(setup, 'ada@example.com');
  await link(setup, user.id, remote.id);

  const j = await beginAtApp(setup);
  assert.match(j.login.body, /Continue with Corp SSO/);
  const page = await continueWithUpstream(setup, j, { email: remote.email });
  assert.ok(page.url.endsWith('/totp'), `a local code is demanded, got ${page.url}`);
  const done = await localCode(j, page, secret);
  const claims = await idTokenClaims(j, done.url);
  assert.deepEqual(claims.amr, ['fed', 'otp', 'mfa']);
  assert.equal(claims.acr, 'urn:gatehouse:acr:mfa');
  assert.equal(claims.idp, setup.upstream.issuer);
  assert.equal(claims.sub, user.id);
});

test('trusted-upstream-mfa-satisfies-2fa: upstream password + TOTP with a trust rule accepting mfa → no local prompt, amr [fed, mfa]', async (t) => {
  const setup = await startFederation(t, { trustAmr: ['mfa'] });
  const remote = await upstreamUser(setup, 'bo@example.com', { totp: true });
  const { user } = await twoFactorMember(setup, 'bo@example.com');
  await link(setup, user.id, remote.id);

  const j = await beginAtApp(setup);
  const page = await continueWithUpstream(setup, j, { email: remote.email, secret: remote.secret });
  assert.equal(page.status, 0, `straight back to the app, got ${page.url}`);
  const claims = await idTokenClaims(j, page.url);
  assert.deepEqual(claims.amr, ['fed', 'mfa']);
  assert.equal(claims.acr, 'urn:gatehouse:acr:mfa');
  assert.equal(claims.idp, setup.upstream.issuer);
});

test('untrusted-upstream-mfa-is-not-enough: the same without the trust rule → local TOTP demanded', async (t) => {
  const setup = await startFederation(t);
  const remote = await upstreamUser(setup, 'cy@example.com', { totp: true });
  const { user, secret } = await twoFactorMember(setup, 'cy@example.com');
  await link(setup, user.id, remote.id);

  const j = await beginAtApp(setup);
  const page = await continueWithUpstream(setup, j, { email: remote.email, secret: remote.secret });
  assert.ok(page.url.endsWith('/totp'), `a local code is demanded, got ${page.url}`);
  const claims = await idTokenClaims(j, (await localCode(j, page, secret)).url);
  assert.deepEqual(claims.amr, ['fed', 'otp', 'mfa']);
});

test('forged-callback-for-disallowed-method-refused: an organization restricted to password shows no button and refuses the upstream', async (t) => {
  const setup = await startFederation(t);
  const s = setup.gatehouse.services;
  const org = await s.tenants.create({ slug: 'pwd-only', name: 'Password Only Inc' });
  const j = await beginAtApp(setup, { tenantId: org.id });
  assert.doesNotMatch(j.login.body, /Continue with/);
  const uid = /\/interaction\/([^/"]+)\/login/.exec(j.login.body)![1]!;
  const csrf = formOn(j.login, '/login').fields;

  // the button forced anyway
  const forced = await j.down.request(`${setup.gatehouse.issuer}/interaction/${uid}/federated/${setup.upstreamName}`, { form: csrf });
  assert.equal(forced.status, 403);
  assert.match(forced.body, /Password Only Inc does not allow signing in with Corp SSO\. Allowed: email and password\./);

  // a crafted answer with a state of a sign-in started for another app (where the upstream is allowed)
  const other = await beginAtApp(setup);
  const door = formOn(other.login, `/federated/${setup.upstreamName}`);
  const started = await other.down.request(door.action, { form: door.fields });
  const state = new URL(started.headers.get('location')!).searchParams.get('state')!;
  const crafted = await j.down.request(`${setup.gatehouse.issuer}/interaction/${uid}/federated/callback?code=forged&state=${state}`);
  assert.equal(crafted.status, 400);
  assert.match(crafted.body, /does not belong to a sign-in started in this browser/);

  // the organization changes its policy while a member is at the upstream: the answer is refused with the methods
  const remote = await upstreamUser(setup, 'dee@example.com');
  const local = await makeUser(s, { email: 'dee@example.com' });
  await link(setup, local.id, remote.id);
  await s.tenants.addMember(org, local.email, 'member', null);
  const member = await beginAtApp(setup);
  const refused = await continueWithUpstream(setup, member, { email: remote.email });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /Allowed: email and password/);
  const audit = await s.db.selectFrom('audit_events').select(['event', 'data']).where('event', '=', 'federation.refused').execute();
  assert.ok(audit.length >= 3, 'every refusal is audited');
});

test('federated-identity-cannot-take-over-existing-account: same email → password and 2FA of that account first, then linked by (issuer, sub)', async (t) => {
  const setup = await startFederation(t);
  const s = setup.gatehouse.services;
  const remote = await upstreamUser(setup, 'eve@example.com');
  const owner = await makeUser(s, { email: 'eve@example.com', password: 'the owner has this passphrase' });
  const { secret } = await enrollTotp(s, owner, new Date(Date.now() - 30_000));

  const j = await beginAtApp(setup);
  const linkPage = await continueWithUpstream(setup, j, { email: remote.email });
  assert.ok(linkPage.url.endsWith('/federated/link'), linkPage.url);
  assert.match(linkPage.body, /An account with the address <strong>eve@example.com<\/strong> already exists/);
  const links = () => s.db.selectFrom('upstream_links').selectAll().execute();

  // the upstream identity alone gets nothing; a wrong password neither
  const form = formOn(linkPage, '/federated/link');
  const wrong = await j.down.request(form.action, { form: { ...form.fields, password: 'correct horse battery staple' } });
  assert.equal(wrong.status, 401);
  assert.equal((await links()).length, 0);

  // the right password leads to the account's own second factor; still nothing linked
  const totpPage = await j.down.follow(await j.down.request(form.action, { form: { ...form.fields, password: 'the owner has this passphrase' } }));
  assert.ok(totpPage.url.endsWith('/totp'), totpPage.url);
  assert.equal((await links()).length, 0);
  const done = await localCode(j, totpPage, secret);
  const claims = await idTokenClaims(j, done.url);
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  const made = await links();
  assert.equal(made.length, 1);
  assert.equal(made[0]!.user_id, owner.id);
  assert.equal(made[0]!.issuer, setup.upstream.issuer);
  assert.equal(made[0]!.subject, remote.id);

  // an upstream email change does not move the link: the (issuer, sub) pair signs in to the same account
  await setup.upstream.services.db.updateTable('users').set({ email: 'eve.new@example.com', email_normalized: 'eve.new@example.com' }).where('id', '=', remote.id).execute();
  const again = await beginAtApp(setup);
  const second = await continueWithUpstream(setup, again, { email: 'eve.new@example.com' });
  assert.ok(second.url.endsWith('/totp'), second.url);
  // (the next time step's code: each step is accepted once)
  assert.equal((await idTokenClaims(again, (await localCode(again, second, secret, new Date(Date.now() + 30_000))).url)).sub, owner.id);
});

test('proposed-link-is-made-by-a-password-sign-in-on-the-sign-in-form: the owner leaves the link page for the plain form; the sign-in still makes the link', async (t) => {
  const setup = await startFederation(t);
  const s = setup.gatehouse.services;
  const remote = await upstreamUser(setup, 'fay@example.com');
  const owner = await makeUser(s, { email: 'fay@example.com', password: 'the owner has this passphrase' });
  const j = await beginAtApp(setup);
  const linkPage = await continueWithUpstream(setup, j, { email: remote.email });
  assert.ok(linkPage.url.endsWith('/federated/link'), linkPage.url);

  // the same sign-in, through the email + password form: a password-only account finishes at that step
  const form = formOn(j.login, '/login');
  const done = await j.down.follow(await j.down.request(form.action, { form: { ...form.fields, email: owner.email, password: 'the owner has this passphrase' } }), (u) => u.startsWith(j.redirectUri));
  const claims = await idTokenClaims(j, done.url);
  assert.equal(claims.sub, owner.id);
  assert.deepEqual(claims.amr, ['pwd']);
  const made = await s.db.selectFrom('upstream_links').selectAll().execute();
  assert.deepEqual(made.map((l) => [l.user_id, l.subject]), [[owner.id, remote.id]], 'the proposed link is made');
  assert.equal((await s.db.selectFrom('federation_pending_links').select('uid').execute()).length, 0, 'and the proposal is taken');
});

test('first-federated-sign-in-creates-a-linked-account: verified email, no local account → a new account, amr [fed]', async (t) => {
  const setup = await startFederation(t);
  const remote = await upstreamUser(setup, 'fay@example.com');
  const j = await beginAtApp(setup);
  const page = await continueWithUpstream(setup, j, { email: remote.email });
  assert.equal(page.status, 0, page.url);
  const claims = await idTokenClaims(j, page.url);
  assert.deepEqual(claims.amr, ['fed']);
  assert.equal(claims.acr, 'urn:gatehouse:acr:pwd');
  const user = await setup.gatehouse.services.db.selectFrom('users').selectAll().where('id', '=', claims.sub).executeTakeFirstOrThrow();
  assert.equal(user.email, 'fay@example.com');
  assert.equal(user.password_hash, null);

  // the app then demands 2FA: the federated sign-in is not enough, the user sets up a local authenticator
  const stepUp = await beginAtApp(setup, { params: { acr_values: 'urn:gatehouse:acr:mfa' } });
  const next = await continueWithUpstream(setup, stepUp, { email: remote.email });
  assert.ok(next.url.endsWith('/enroll'), next.url);
});
