// The JSON admin API with real access tokens: an openid-client RP gets them through the code flow (scope
// `openid admin`), then calls /api/v1 like an automation script would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TenantRole } from '../../src/db/database.ts';
import type { Tenant } from '../../src/domain/tenants/tenant.service.ts';
import { acceptInvitation, makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn } from '../helpers/http-browser.ts';
import { authorizationRequest, discover, redeem } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, daysFrom, enrollTotp, fixedClock, isoDay, stepStart } from '../helpers/totp.ts';

const T0 = stepStart(); // the real time (whatever the date), rounded down to a TOTP step
type Clock = ReturnType<typeof fixedClock>;
type TestUser = Awaited<ReturnType<typeof makeUser>> & { totp?: Awaited<ReturnType<typeof enrollTotp>> };

async function setup(t: Parameters<typeof startServer>[0]) {
  const clock = fixedClock(T0);
  const s = await startServer(t, { clock });
  return { s, clock };
}

async function member(s: TestServer, tenant: Tenant, role: TenantRole, name: string, opts: { totp?: boolean } = {}): Promise<TestUser> {
  const user = await makeUser(s.services, { name });
  await s.services.tenants.addMember(tenant, user.email, role, null);
  return { ...user, totp: opts.totp ? await enrollTotp(s.services, user, s.services.clock.now()) : undefined };
}

/** the next TOTP code of a user (the clock moves one step: each step is accepted once) */
function nextCode(clock: Clock, user: TestUser) {
  clock.advance(30);
  return codeFor(user.totp!.secret, clock.now());
}

/** an access token for `user` from a real RP: authorization code flow with PKCE, password (+ TOTP), redeemed */
async function accessToken(s: TestServer, clock: Clock, user: TestUser, scope = 'openid admin'): Promise<string> {
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri, { scope });
  const browser = new HttpBrowser();
  const atCallback = (u: string) => u.startsWith(client.redirectUri);
  const login = await browser.get(req.url, atCallback);
  const form = formOn(login, '/login');
  let page = await browser.follow(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } }), atCallback);
  if (page.url.endsWith('/totp')) {
    const f = formOn(page, '/totp');
    page = await browser.follow(await browser.request(f.action, { form: { ...f.fields, code: nextCode(clock, user) } }), atCallback);
  }
  assert.ok(atCallback(page.url), `no callback: ${page.url} ${page.body.slice(0, 300)}`);
  const tokens = await redeem(config, req, page.url);
  assert.equal(typeof tokens.access_token, 'string');
  return tokens.access_token;
}

interface ApiResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

function api(s: TestServer, token: string | null) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> => {
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${s.issuer}/api/v1${path}`, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => call('POST', path, body, headers),
    put: (path: string, body?: unknown, headers?: Record<string, string>) => call('PUT', path, body, headers),
    patch: (path: string, body?: unknown) => call('PATCH', path, body),
    delete: (path: string) => call('DELETE', path),
    call,
  };
}

async function auditRows(s: TestServer, tenantId: string, event: string) {
  return s.services.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId).where('event', '=', event).execute();
}

test('admin API: members with 2FA state and coverage, policy, preview, invite, role, remove, 2FA reset, audit log', async (t) => {
  const { s, clock } = await setup(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const owner = await member(s, tenant, 'owner', 'Olga Owner');
  const admin = await member(s, tenant, 'admin', 'Adam Admin', { totp: true });
  const alice = await member(s, tenant, 'member', 'Alice Enrolled', { totp: true });
  const bob = await member(s, tenant, 'member', 'Bob Plain');
  const a = api(s, await accessToken(s, clock, admin));

  const tenants = await a.get('/tenants');
  assert.equal(tenants.status, 200);
  assert.deepEqual(tenants.body, { tenants: [{ slug: 'acme', name: 'Acme Inc', role: 'admin', require2fa: false }] });
  assert.equal(tenants.headers.get('cache-control'), 'no-store');

  const list = await a.get('/tenants/acme/members');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.coverage, { enrolled: 2, total: 4 });
  assert.deepEqual(list.body.tenant, { slug: 'acme', name: 'Acme Inc' });
  const byEmail = (email: string) => list.body.members.find((m: { email: string }) => m.email === email);
  assert.deepEqual(byEmail(alice.email).twoFactor, { enrolled: true, state: 'enrolled', deadline: null });
  assert.deepEqual(byEmail(bob.email).twoFactor, { enrolled: false, state: 'not_enrolled', deadline: null });
  assert.equal(byEmail(bob.email).id, bob.id);
  assert.equal(byEmail(bob.email).lastSignInAt, null);
  // stable codes, not words: a program compares them, a page translates them
  assert.equal(byEmail(admin.email).lastSignInMethod, 'password_2fa', 'the admin just signed in with a code');
  assert.deepEqual([...byEmail(admin.email).lastSignInAmr].sort(), ['mfa', 'otp', 'pwd']);
  assert.equal(byEmail(bob.email).lastSignInAmr, null);
  assert.equal(byEmail(admin.email).lastSignInAt, new Date(T0.getTime() + 30_000).toISOString(), 'at the (injected) time of that sign-in');
  assert.deepEqual(Object.keys(byEmail(bob.email)).sort(), ['email', 'id', 'lastSignInAmr', 'lastSignInAt', 'lastSignInMethod', 'name', 'role', 'twoFactor']);

  // policy and the preview
  assert.deepEqual((await a.get('/tenants/acme/policy')).body, { require2fa: false, enforceFrom: null, allowedMethods: ['password'] });
  const blocked = await a.get('/tenants/acme/policy/would-be-blocked');
  assert.deepEqual(blocked.body.members.map((m: { email: string }) => m.email).sort(), [owner.email, bob.email].sort());
  const weekOn = `${isoDay(daysFrom(T0, 7))}T00:00:00`;
  const put = await a.put('/tenants/acme/policy', { require2fa: true, enforceFrom: `${weekOn}Z` });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.body, { require2fa: true, enforceFrom: `${weekOn}.000Z`, allowedMethods: ['password'] });
  const policyAudit = await auditRows(s, tenant.id, 'tenant.policy_changed');
  assert.equal(policyAudit.length, 1);
  assert.equal(policyAudit[0]!.actor_user_id, admin.id);
  const pending = (await a.get('/tenants/acme/members')).body.members.find((m: { id: string }) => m.id === bob.id);
  assert.deepEqual(pending.twoFactor, { enrolled: false, state: 'pending', deadline: `${weekOn}.000Z` });

  // invite, conflict, owner-only
  const invited = await a.post('/tenants/acme/members', { email: 'newcomer@example.com', role: 'member' });
  assert.equal(invited.status, 201, invited.text);
  assert.equal(invited.body.invited, true);
  assert.equal(invited.body.email, 'newcomer@example.com');
  assert.equal(invited.headers.get('location'), `/api/v1/tenants/acme/members/${invited.body.id}`);
  assert.equal(await s.services.tenants.roleOf(tenant.id, invited.body.id), null, 'nothing before acceptance');
  await acceptInvitation(s.services, 'newcomer@example.com');
  assert.equal(await s.services.tenants.roleOf(tenant.id, invited.body.id), 'member');
  const mail = await s.services.db.selectFrom('email_outbox').select('subject').where('to_address', '=', 'newcomer@example.com').execute();
  assert.ok(mail.some((m) => /invited to Acme Inc/.test(m.subject)));
  const dup = await a.post('/tenants/acme/members', { email: 'newcomer@example.com', role: 'admin' });
  assert.equal(dup.status, 409);
  assert.equal(dup.body.error, 'already_member');
  const ownerInvite = await a.post('/tenants/acme/members', { email: 'boss@example.com', role: 'owner' });
  assert.equal(ownerInvite.status, 403);
  assert.equal(ownerInvite.body.error, 'forbidden');
  assert.equal((await a.get(`/tenants/acme/members/${invited.body.id}`)).body.role, 'member');

  // roles
  const promoted = await a.patch(`/tenants/acme/members/${bob.id}`, { role: 'admin' });
  assert.equal(promoted.status, 200, promoted.text);
  assert.equal(promoted.body.role, 'admin');
  assert.equal(await s.services.tenants.roleOf(tenant.id, bob.id), 'admin');
  assert.deepEqual((await auditRows(s, tenant.id, 'tenant.role_changed')).map((r) => [r.actor_user_id, r.target_user_id]), [[admin.id, bob.id]]);
  assert.equal((await a.patch(`/tenants/acme/members/${bob.id}`, { role: 'owner' })).status, 403);
  assert.equal((await a.patch(`/tenants/acme/members/${owner.id}`, { role: 'member' })).status, 403);
  assert.equal((await a.delete(`/tenants/acme/members/${owner.id}`)).status, 403);
  assert.equal(await s.services.tenants.roleOf(tenant.id, owner.id), 'owner');

  // remove
  const removed = await a.delete(`/tenants/acme/members/${bob.id}`);
  assert.equal(removed.status, 204);
  assert.equal(removed.text, '');
  assert.equal(await s.services.tenants.roleOf(tenant.id, bob.id), null);
  assert.equal((await a.get(`/tenants/acme/members/${bob.id}`)).status, 404);
  assert.equal((await a.delete(`/tenants/acme/members/${bob.id}`)).body.error, 'member_not_found');
  assert.equal((await auditRows(s, tenant.id, 'tenant.member_removed'))[0]!.actor_user_id, admin.id);

  // 2FA reset with the admin's own code
  const wrong = await a.post(`/tenants/acme/members/${alice.id}/reset-2fa`, { reason: 'lost phone', code: '000000' });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.body.error, 'second_factor_invalid');
  assert.equal((await s.services.twoFactor.status(alice.id)).enabled, true);
  assert.equal((await a.post(`/tenants/acme/members/${admin.id}/reset-2fa`, { reason: 'me', code: nextCode(clock, admin) })).status, 403, 'not one’s own');
  const reset = await a.post(`/tenants/acme/members/${alice.id}/reset-2fa`, { reason: 'Lost phone (ticket 42)', code: nextCode(clock, admin) });
  assert.equal(reset.status, 204, reset.text);
  assert.equal((await s.services.db.selectFrom('totp_credentials').select('id').where('user_id', '=', alice.id).execute()).length, 0);
  assert.equal((await s.services.db.selectFrom('recovery_codes').select('id').where('user_id', '=', alice.id).execute()).length, 0);
  assert.ok((await s.services.db.selectFrom('email_outbox').select('subject').where('to_address', '=', alice.email).execute()).some((m) => /reset by an administrator/.test(m.subject)));
  const resetAudit = await auditRows(s, tenant.id, 'tenant.member_2fa_reset');
  assert.deepEqual(resetAudit.map((r) => [r.actor_user_id, r.target_user_id, r.data]), [[admin.id, alice.id, { reason: 'Lost phone (ticket 42)' }]]);

  // the audit log, filtered
  const log = await a.get(`/tenants/acme/audit?event=tenant.&member=${alice.id}`);
  assert.equal(log.status, 200, log.text);
  assert.deepEqual(log.body.events.map((e: { event: string }) => e.event), ['tenant.member_2fa_reset', 'tenant.member_added']);
  assert.equal(log.body.events[0].actor, admin.email);
  assert.equal(log.body.events[0].target, alice.email);
  assert.deepEqual(log.body.events[0].data, { reason: 'Lost phone (ticket 42)' });
  const logins = await a.get('/tenants/acme/audit?event=login.&limit=5');
  assert.ok(logins.body.events.length >= 1 && logins.body.events.every((e: { event: string }) => e.event.startsWith('login.')));
});

test('admin API: 401 without or with a bad token (WWW-Authenticate: Bearer), 403 without the admin scope, JSON 4xx for bad input', async (t) => {
  const { s, clock } = await setup(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const admin = await member(s, tenant, 'owner', 'Olga Owner');
  const plain = await member(s, tenant, 'member', 'Paul Plain');

  const none = await api(s, null).get('/tenants/acme/members');
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate')!, /^Bearer realm="gatehouse"$/);
  assert.equal(none.body.error, 'unauthorized');
  const bogus = await api(s, 'not-a-real-token').get('/tenants/acme/members');
  assert.equal(bogus.status, 401);
  assert.match(bogus.headers.get('www-authenticate')!, /^Bearer realm="gatehouse", error="invalid_token"/);
  assert.equal(bogus.body.error, 'invalid_token');
  const basic = await api(s, null).call('GET', '/tenants/acme/members', undefined, { authorization: 'Basic YWRtaW46YWRtaW4=' });
  assert.equal(basic.status, 401);
  const weird = await api(s, '"><script>').get('/tenants/acme/members');
  assert.equal(weird.status, 401);
  // authentication comes before input validation: no token and a bad body is still a 401
  assert.equal((await api(s, null).put('/tenants/acme/policy', '{not json')).status, 401);

  const openidOnly = await api(s, await accessToken(s, clock, admin, 'openid email')).get('/tenants/acme/members');
  assert.equal(openidOnly.status, 403);
  assert.equal(openidOnly.body.error, 'insufficient_scope');
  assert.match(openidOnly.headers.get('www-authenticate')!, /error="insufficient_scope", scope="admin"/);

  // a plain member's token with the admin scope still administers nothing
  const p = api(s, await accessToken(s, clock, plain));
  assert.deepEqual((await p.get('/tenants')).body, { tenants: [] });
  const plainList = await p.get('/tenants/acme/members');
  assert.equal(plainList.status, 404);
  assert.equal(plainList.body.error, 'tenant_not_found');

  const a = api(s, await accessToken(s, clock, admin));
  const bad: [string, string, unknown, number][] = [
    ['PUT', '/tenants/acme/policy', { require2fa: 'maybe' }, 400],
    ['PUT', '/tenants/acme/policy', {}, 400],
    ['PUT', '/tenants/acme/policy', [], 400],
    ['PUT', '/tenants/acme/policy', 'null', 400],
    ['PUT', '/tenants/acme/policy', '{"require2fa": tru', 400],
    ['PUT', '/tenants/acme/policy', { require2fa: true, enforceFrom: 'next tuesday' }, 400],
    ['PUT', '/tenants/acme/policy', { require2fa: true, allowedMethods: [] }, 400],
    ['PUT', '/tenants/acme/policy', { require2fa: true, allowedMethods: ['carrier-pigeon'] }, 400],
    ['PUT', '/tenants/acme/policy', { require2fa: true, enforceFrom: { $gt: '' } }, 400],
    ['POST', '/tenants/acme/members', undefined, 400],
    ['POST', '/tenants/acme/members', { email: 'not an email', role: 'member' }, 400],
    ['POST', '/tenants/acme/members', { email: 'x@example.com', role: 'god' }, 400],
    ['POST', '/tenants/acme/members', { email: { address: 'x@example.com' }, role: 'member' }, 400],
    ['POST', '/tenants/acme/members', { email: `${'x'.repeat(400)}@example.com`, role: 'member' }, 400],
    ['PATCH', '/tenants/acme/members/not-a-uuid', { role: 'admin' }, 400],
    ['PATCH', `/tenants/acme/members/${plain.id}`, { role: null }, 400],
    ['POST', `/tenants/acme/members/${plain.id}/reset-2fa`, { code: '123456' }, 400],
    ['POST', `/tenants/acme/members/${plain.id}/reset-2fa`, { reason: '', code: '123456' }, 400],
    ['GET', '/tenants/acme/audit?limit=100000', undefined, 400],
    ['GET', '/tenants/acme/audit?member=1%27%20OR%201=1', undefined, 400],
    ['GET', '/tenants/acme/audit?event=%25', undefined, 400],
    ['GET', '/tenants/ACME%00/members', undefined, 404],
    ['GET', '/nope', undefined, 404],
  ];
  for (const [method, path, body, status] of bad) {
    const res = await a.call(method, path, body);
    assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}: ${res.text}`);
    assert.equal(typeof res.body?.error, 'string', `${method} ${path}: JSON error`);
    assert.equal(typeof res.body?.message, 'string');
  }
  const textPlain = await a.put('/tenants/acme/policy', 'require2fa=true', { 'content-type': 'text/plain' });
  assert.equal(textPlain.status, 415);
  assert.equal(textPlain.body.error, 'unsupported_media_type');
  const huge = await a.post('/tenants/acme/members', { email: 'x@example.com', role: 'member', pad: 'x'.repeat(70_000) });
  assert.equal(huge.status, 413);
  // nothing of that changed anything
  assert.deepEqual((await a.get('/tenants/acme/policy')).body, { require2fa: false, enforceFrom: null, allowedMethods: ['password'] });
  assert.equal((await a.get('/tenants/acme/members')).body.coverage.total, 2);

  // the 2FA policy guards API tokens too: a token from a password-only sign-in stops working once 2FA is required
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);
  const weak = await a.get('/tenants/acme/members');
  assert.equal(weak.status, 401);
  assert.equal(weak.body.error, 'invalid_token');
  await s.services.tenants.updatePolicy(tenant, { require2fa: false }, null);
  assert.equal((await a.get('/tenants/acme/members')).status, 200);

  // demoted: the same token administers nothing any more
  await s.services.tenants.addMember(tenant, (await makeUser(s.services)).email, 'owner', null);
  await s.services.tenants.setRole(tenant, admin.id, 'member', null);
  assert.equal((await a.get('/tenants/acme/members')).status, 404);
});

test('admin API cross-tenant isolation: an admin of Acme gets 404 for everything of Globex, by slug or by member id, and changes nothing', async (t) => {
  const { s, clock } = await setup(t);
  const acme = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const globex = await s.services.tenants.create({ slug: 'globex', name: 'Globex Corporation' });
  const adminA = await member(s, acme, 'owner', 'Alma AcmeOwner', { totp: true });
  const memberA = await member(s, acme, 'member', 'Arno AcmeMember');
  await member(s, globex, 'owner', 'Gus GlobexOwner');
  const memberB = await member(s, globex, 'member', 'Gina GlobexMember', { totp: true });
  const a = api(s, await accessToken(s, clock, adminA));

  const snapshot = async () => ({
    tenant: await s.services.db.selectFrom('tenants').selectAll().orderBy('slug').execute(),
    members: await s.services.db.selectFrom('tenant_members').select(['tenant_id', 'user_id', 'role', 'mfa_deadline']).orderBy('tenant_id').orderBy('user_id').execute(),
    factors: (await s.services.db.selectFrom('totp_credentials').select('id').where('user_id', '=', memberB.id).execute()).length,
    codes: (await s.services.db.selectFrom('recovery_codes').select('id').where('user_id', '=', memberB.id).execute()).length,
    audit: (await s.services.db.selectFrom('audit_events').select('id').where('event', 'like', 'tenant.%').execute()).length,
    users: (await s.services.db.selectFrom('users').select('id').execute()).length,
    mail: (await s.services.db.selectFrom('email_outbox').select('id').execute()).length,
  });
  const before = await snapshot();
  const unknown = await a.get('/tenants/no-such-org/members');
  assert.equal(unknown.status, 404);

  const B = memberB.id;
  const calls: [string, string, unknown?][] = [
    ['GET', '/tenants/globex/members'],
    ['POST', '/tenants/globex/members', { email: 'spy@example.com', role: 'owner' }],
    ['POST', '/tenants/globex/members', { email: adminA.email, role: 'member' }],
    ['GET', `/tenants/globex/members/${B}`],
    ['PATCH', `/tenants/globex/members/${B}`, { role: 'admin' }],
    ['DELETE', `/tenants/globex/members/${B}`],
    ['POST', `/tenants/globex/members/${B}/reset-2fa`, { reason: 'takeover', code: nextCode(clock, adminA) }],
    ['GET', `/tenants/globex/members/${memberA.id}`],
    ['GET', '/tenants/globex/policy'],
    ['PUT', '/tenants/globex/policy', { require2fa: true }],
    ['PUT', '/tenants/globex/policy', { require2fa: 'garbage' }],
    ['GET', '/tenants/globex/policy/would-be-blocked'],
    ['GET', '/tenants/globex/audit'],
    ['GET', `/tenants/globex/audit?member=${B}`],
    // Acme's endpoints with Globex's member id
    ['GET', `/tenants/acme/members/${B}`],
    ['PATCH', `/tenants/acme/members/${B}`, { role: 'member' }],
    ['DELETE', `/tenants/acme/members/${B}`],
    ['POST', `/tenants/acme/members/${B}/reset-2fa`, { reason: 'takeover', code: nextCode(clock, adminA) }],
    ['GET', `/tenants/acme/audit?member=${B}`],
  ];
  for (const [method, path, body] of calls) {
    const res = await a.call(method, path, body);
    assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
    assert.doesNotMatch(res.text, /Globex|Gina|Gus|globex\.|@/, `${method} ${path} reveals nothing`);
    if (path.startsWith('/tenants/globex')) assert.deepEqual(res.body, unknown.body, `${method} ${path}: the same answer as an organization that does not exist`);
  }
  const mine = await a.get('/tenants');
  assert.deepEqual(mine.body.tenants.map((x: { slug: string }) => x.slug), ['acme']);
  const acmeLog = await a.get('/tenants/acme/audit');
  assert.doesNotMatch(acmeLog.text, /Globex|Gina|Gus/);
  assert.deepEqual(await snapshot(), before, 'nothing changed, no mail');
});

test('the OpenAPI document is served without a token and describes every endpoint', async (t) => {
  const { s } = await setup(t);
  const res = await fetch(`${s.issuer}/api/v1/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /application\/json/);
  const doc = (await res.json()) as { openapi: string; servers: { url: string }[]; paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>; components: { securitySchemes: Record<string, unknown> } };
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.servers[0]!.url, `${s.issuer}/api/v1`);
  const expected: Record<string, string[]> = {
    '/tenants': ['get'],
    '/tenants/{slug}/members': ['get', 'post'],
    '/tenants/{slug}/members/{userId}': ['get', 'patch', 'delete'],
    '/tenants/{slug}/members/{userId}/reset-2fa': ['post'],
    '/tenants/{slug}/policy': ['get', 'put'],
    '/tenants/{slug}/policy/would-be-blocked': ['get'],
    '/tenants/{slug}/audit': ['get'],
  };
  assert.deepEqual(Object.keys(doc.paths).sort(), Object.keys(expected).sort());
  for (const [path, methods] of Object.entries(expected)) {
    for (const m of methods) {
      const op = doc.paths[path]![m];
      assert.ok(op, `${m} ${path}`);
      assert.deepEqual(op.security, [{ gatehouse: ['admin'] }]);
      for (const status of ['401', '403', '404']) assert.ok(op.responses[status], `${m} ${path} documents ${status}`);
    }
  }
  assert.ok(doc.components.securitySchemes.gatehouse);

  // every documented route exists (answers 401 without a token, not 404)
  for (const [path, methods] of Object.entries(expected)) {
    for (const m of methods) {
      const url = path.replace('{slug}', 'acme').replace('{userId}', '00000000-0000-4000-8000-000000000000');
      const r = await fetch(`${s.issuer}/api/v1${url}`, { method: m.toUpperCase() });
      assert.equal(r.status, 401, `${m} ${url}`);
    }
  }
});
