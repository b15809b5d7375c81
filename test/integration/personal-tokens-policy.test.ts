// Token lifetime policy and the JSON APIs for personal access tokens: an organization's maximum (lowering it keeps
// existing tokens unless asked), the admin API's list/revoke/policy, a user's own /api/v1/me/tokens with the same
// freshness rule, and the reminder mail three days before expiry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { remindExpiringTokens } from '../../src/domain/tokens/personal-token-reminders.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, redeem } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

const DAY = 86400;

async function setup(t: Parameters<typeof startServer>[0]) {
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  const admin = await makeUser(s.services, { name: 'Ada Admin' });
  const adminTotp = await enrollTotp(s.services, admin, clock.now());
  await s.services.tenants.addMember(tenant, admin.email, 'owner', null);
  const member = await makeUser(s.services, { name: 'Max Member' });
  await s.services.tenants.addMember(tenant, member.email, 'member', null);
  const now = () => Math.floor(clock.now().getTime() / 1000);
  return { s, clock, tenant, admin, adminTotp, member, now };
}

/** an access token for `user` (password + TOTP when enrolled) with the given scopes, through a first-party RP */
async function accessToken(s: TestServer, clock: ReturnType<typeof fixedClock>, user: { email: string; password: string }, scope: string, secret?: string) {
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri, { scope });
  const browser = new HttpBrowser();
  const atCallback = (u: string) => u.startsWith(client.redirectUri);
  const login = await browser.get(req.url);
  const f = formOn(login, '/login');
  let page = await browser.follow(await browser.request(f.action, { form: { ...f.fields, email: user.email, password: user.password } }), atCallback);
  if (secret) {
    clock.advance(30);
    const tf = formOn(page, '/totp');
    page = await browser.follow(await browser.request(tf.action, { form: { ...tf.fields, code: codeFor(secret, clock.now()) } }), atCallback);
  }
  return (await redeem(config, req, page.url)).access_token;
}

const api = (s: TestServer, token: string) => async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${s.issuer}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as Record<string, unknown>) };
};

test('lowering-the-maximum-keeps-existing-tokens: existing tokens keep their expiry unless the admin asks to shorten them (audited)', async (t) => {
  const { s, tenant, admin, member, now } = await setup(t);
  const from = { amr: ['pwd'], acr: 'urn:gatehouse:acr:pwd', authTime: now() };
  const long = await s.services.personalTokens.create(member, from, { name: 'long', scopes: ['openid'], tenantSlug: 'acme', days: 60 }, {});
  await s.services.tokenPolicy.set(tenant.id, 7, false, admin.id);
  const kept = await s.services.db.selectFrom('personal_tokens').select(['expires_at', 'created_at']).where('id', '=', long.personalToken.id).executeTakeFirstOrThrow();
  assert.equal(Math.round((kept.expires_at.getTime() - kept.created_at.getTime()) / 1000 / DAY), 60, 'existing tokens keep working until they expire');
  await assert.rejects(s.services.personalTokens.create(member, from, { name: 'new', scopes: ['openid'], tenantSlug: 'acme', days: 8 }, {}), { code: 'invalid_expiry' });
  const { shortened } = await s.services.tokenPolicy.set(tenant.id, 7, true, admin.id);
  assert.equal(shortened, 1);
  const cut = await s.services.db.selectFrom('personal_tokens').select(['expires_at', 'created_at']).where('id', '=', long.personalToken.id).executeTakeFirstOrThrow();
  assert.equal(Math.round((cut.expires_at.getTime() - cut.created_at.getTime()) / 1000 / DAY), 7);
  const audit = await s.services.db.selectFrom('audit_events').select('data').where('event', '=', 'tenant.token_policy_changed').orderBy('id').execute();
  assert.deepEqual(audit.map((a) => (a.data as { shortenExisting: boolean }).shortenExisting), [false, true]);
  // the deployment maximum caps everything
  await assert.rejects(s.services.tokenPolicy.set(tenant.id, 91, false, admin.id), { code: 'invalid_token_max_days' });
});

test('admin-api-lists-and-revokes-organization-tokens: owners see members\' bound tokens (never their values) and set the maximum', async (t) => {
  const { s, clock, admin, adminTotp, member, now } = await setup(t);
  const made = await s.services.personalTokens.create(member, { amr: ['pwd'], acr: 'urn:gatehouse:acr:pwd', authTime: now() }, { name: 'acme ci', scopes: ['openid', 'api'], tenantSlug: 'acme', days: 30 }, {});
  await s.services.personalTokens.create(member, { amr: ['pwd'], acr: 'urn:gatehouse:acr:pwd', authTime: now() }, { name: 'private', scopes: ['openid'], days: 30 }, {});
  const call = api(s, await accessToken(s, clock, admin, 'openid admin', adminTotp.secret));
  const list = await call('GET', '/tenants/acme/tokens');
  assert.equal(list.status, 200);
  const tokens = list.body!.tokens as { id: string; name: string; owner: { email: string } }[];
  assert.deepEqual(tokens.map((x) => x.name), ['acme ci'], 'only tokens bound to the organization');
  assert.equal(tokens[0]!.owner.email, member.email);
  assert.ok(!JSON.stringify(list.body).includes(made.token));
  assert.deepEqual((await call('PUT', '/tenants/acme/token-policy', { tokenMaxDays: 7 })).body, { tokenMaxDays: 7, deploymentMaxDays: 90, shortened: 0 });
  assert.equal((await call('PUT', '/tenants/acme/token-policy', { tokenMaxDays: 0 })).status, 400);
  assert.equal((await call('DELETE', `/tenants/acme/tokens/${tokens[0]!.id}`)).status, 204);
  assert.equal(await s.services.personalTokens.findLive(made.token), null);
  assert.equal((await call('DELETE', `/tenants/acme/tokens/${tokens[0]!.id}`)).status, 404);
});

test('me-tokens-api-needs-a-fresh-strong-sign-in: a user\'s own JSON API creates (value once), lists and revokes; a stale access token must step up', async (t) => {
  const { s, clock, admin, adminTotp } = await setup(t);
  const call = api(s, await accessToken(s, clock, admin, 'openid tokens', adminTotp.secret));
  const created = await call('POST', '/me/tokens', { name: 'laptop', scopes: ['openid', 'email'], expiresInDays: 3 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.match(String(created.body!.token), /^gat_/);
  assert.deepEqual(created.body!.amr, ['pwd', 'otp', 'mfa']);
  const listed = await call('GET', '/me/tokens');
  assert.ok(!JSON.stringify(listed.body).includes(String(created.body!.token)), 'the value is shown once');
  assert.equal((await call('POST', '/me/tokens', { name: 'x', scopes: ['admin'] })).status, 400, 'admin is not a personal token scope');
  assert.equal((await call('DELETE', `/me/tokens/${created.body!.id}`)).status, 204);
  clock.advance(16 * 60);
  const stale = await call('POST', '/me/tokens', { name: 'later', scopes: ['openid'] });
  assert.equal(stale.status, 403);
  assert.equal(stale.body!.error, 'step_up_required');
  const noScope = api(s, await accessToken(s, clock, admin, 'openid', adminTotp.secret));
  assert.equal((await noScope('GET', '/me/tokens')).status, 403);
});

test('expiry-reminder-mailed-once: three days before a token expires its owner is mailed, once, by whichever node runs first', async (t) => {
  const { s, clock, member, now } = await setup(t);
  await s.services.personalTokens.create(member, { amr: ['pwd'], acr: 'urn:gatehouse:acr:pwd', authTime: now() }, { name: 'nightly', scopes: ['openid'], days: 10 }, {});
  const deps = { ...s.services, issuer: s.issuer };
  assert.equal(await remindExpiringTokens(deps), 0, 'not yet');
  clock.advance(7 * DAY + 60);
  const [a, b] = await Promise.all([remindExpiringTokens(deps), remindExpiringTokens(deps)]);
  assert.equal(a + b, 1, 'exactly one reminder');
  assert.equal(await remindExpiringTokens(deps), 0);
  const mail = await s.services.db.selectFrom('email_outbox').select('text_body').where('to_address', '=', member.email).execute();
  assert.equal(mail.filter((m) => /"nightly" expires on/.test(m.text_body)).length, 1);
});
