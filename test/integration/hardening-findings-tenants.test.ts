// Issue 13, section 4, organizations: a member's 2FA deadline never moves later, an organization always keeps an
// accepted owner, and adding a member tells admins nothing about whether the address has an account.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tenant } from '../../src/domain/tenants/tenant.service.ts';
import { acceptInvitation, makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn } from '../helpers/http-browser.ts';
import { authorizationRequest, discover, redeem } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { daysFrom, fixedClock, stepStart } from '../helpers/totp.ts';

const T0 = stepStart(); // whatever today is; every date below is relative to it

/** the password step of a sign-in to a first-party app: the page it ends on (a grace page, or the callback) */
async function signIn(s: TestServer, user: { email: string; password: string }, scope = 'openid') {
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri, { scope });
  const browser = new HttpBrowser();
  const atCallback = (u: string) => u.startsWith(client.redirectUri);
  const form = formOn(await browser.get(req.url, atCallback), '/login');
  const page = await browser.follow(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } }), atCallback);
  return { page, atCallback, redeem: () => redeem(config, req, page.url) };
}

async function setup(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t, { clock: fixedClock(T0) });
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const owner = await makeUser(s.services, { name: 'Olga Owner' });
  await s.services.tenants.addMember(tenant, owner.email, 'owner', null);
  const login = await signIn(s, owner, 'openid admin');
  assert.ok(login.atCallback(login.page.url), login.page.body.slice(0, 300));
  const token = (await login.redeem()).access_token;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.issuer}/api/v1/tenants/acme${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  return { s, tenant, owner, api };
}

async function member(s: TestServer, tenant: Tenant) {
  const user = await makeUser(s.services);
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  return user;
}

test('member-deadline-does-not-move-when-the-date-moves-later (an earlier date still applies)', async (t) => {
  const { s, tenant, api } = await setup(t);
  const seen = await member(s, tenant);
  const unseen = await member(s, tenant);
  const deadline = async (id: string) => (await api('GET', `/members/${id}`)).body!.twoFactor.deadline as string | null;
  const [d7, d14, d3] = [daysFrom(T0, 7), daysFrom(T0, 14), daysFrom(T0, 3)];

  assert.equal((await api('PUT', '/policy', { require2fa: true, enforceFrom: d7.toISOString() })).status, 200);
  // the member signs in and is shown the deadline: from now on it is theirs
  const grace = await signIn(s, seen);
  assert.match(grace.page.url, /\/grace$/);
  assert.ok(grace.page.body.includes(d7.toISOString().slice(0, 10)));

  assert.equal((await api('PUT', '/policy', { require2fa: true, enforceFrom: d14.toISOString() })).status, 200);
  assert.equal(await deadline(seen.id), d7.toISOString(), 'a deadline already shown does not move later');
  assert.equal(await deadline(unseen.id), d14.toISOString(), 'someone who never saw one gets the new date');
  const again = await signIn(s, seen);
  assert.ok(again.page.body.includes(d7.toISOString().slice(0, 10)), 'the reminder still shows the first deadline');

  assert.equal((await api('PUT', '/policy', { require2fa: true, enforceFrom: d3.toISOString() })).status, 200);
  assert.equal(await deadline(seen.id), d3.toISOString(), 'an earlier date pulls the deadline in');
});

test('organization-keeps-an-accepted-owner: a pending owner does not count', async (t) => {
  const { s, owner, api } = await setup(t);
  const heir = await makeUser(s.services, { name: 'Henry Heir' });
  const invited = await api('POST', '/members', { email: heir.email, role: 'owner' });
  assert.equal(invited.status, 201);

  const demote = await api('PATCH', `/members/${owner.id}`, { role: 'admin' });
  assert.deepEqual([demote.status, demote.body!.error], [409, 'last_owner'], 'the only accepted owner cannot step down');
  const leave = await api('DELETE', `/members/${owner.id}`);
  assert.deepEqual([leave.status, leave.body!.error], [409, 'last_owner'], 'nor leave');
  assert.equal((await api('GET', `/members/${owner.id}`)).body!.role, 'owner');

  await acceptInvitation(s.services, heir.email);
  const after = await api('PATCH', `/members/${owner.id}`, { role: 'admin' });
  assert.equal(after.status, 200, 'once the other owner has accepted');
});

test('adding-a-member-answers-the-same-whether-or-not-they-have-an-account', async (t) => {
  const { s, owner, api } = await setup(t);
  const existing = await makeUser(s.services, { name: 'Erin Existing' });
  const known = await api('POST', '/members', { email: existing.email, role: 'member' });
  const unknown = await api('POST', '/members', { email: 'nobody-yet@example.com', role: 'member' });
  assert.deepEqual([known.status, unknown.status], [201, 201]);
  const shape = (b: Record<string, unknown>) => ({ ...b, id: 'x', email: 'x' });
  assert.deepEqual(shape(known.body!), shape(unknown.body!), 'the same answer for both');
  assert.equal(known.body!.invited, true);
  assert.equal(known.body!.name, null, "the existing account's name is not revealed");
  const listed = (await api('GET', '/members')).body!.members as { email: string; name: string | null }[];
  assert.equal(listed.find((m) => m.email === existing.email)!.name, null, 'nor in the member list before they accept');

  const audit = (await api('GET', '/audit?event=tenant.member_added')).body!.events as { target: string; data: unknown }[];
  const dataOf = (email: string) => audit.find((e) => e.target === email)!.data;
  assert.deepEqual(dataOf(existing.email), dataOf('nobody-yet@example.com'), 'the audit log admins read tells nothing either');

  // the console: same redirect, same message
  const browser = new HttpBrowser();
  const home = await signInOnPage(browser, await browser.get(`${s.issuer}/account`), owner);
  assert.equal(home.url, `${s.issuer}/account`);
  const other = await makeUser(s.services, { name: 'Oscar Other' });
  const answers = [];
  for (const email of [other.email, 'also-nobody@example.com']) {
    const page = await browser.get(`${s.issuer}/admin/acme`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const res = await browser.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrf, email, role: 'member' } });
    assert.equal(res.status, 303);
    answers.push(res.headers.get('location'));
    const shown = await browser.follow(res);
    assert.match(shown.body, /Invitation sent/);
    assert.doesNotMatch(shown.body, /already had|Oscar Other/);
  }
  assert.equal(answers[0], answers[1]);
});
