// The organization console over HTTP: members with their 2FA state and coverage, the settings preview, invitations,
// roles, removal, the admin 2FA reset, and that an admin of one organization can reach nothing of another.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { TenantRole } from '../../src/db/database.ts';
import type { Tenant } from '../../src/domain/tenants/tenant.service.ts';
import { acceptInvitation, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn, type Page } from '../helpers/http-browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { codeFor, dayText, daysFrom, enrollTotp, fixedClock, isoDay, stepStart } from '../helpers/totp.ts';

const T0 = stepStart(); // the real time (whatever the date), rounded down to a TOTP step
type TestUser = Awaited<ReturnType<typeof makeUser>>;

async function setup(t: Parameters<typeof startServer>[0]) {
  const clock = fixedClock(T0);
  const s = await startServer(t, { clock });
  return { s, clock };
}

async function member(s: TestServer, tenant: Tenant, role: TenantRole, name: string, opts: { totp?: boolean } = {}) {
  const user = await makeUser(s.services, { name });
  await s.services.tenants.addMember(tenant, user.email, role, null);
  const totp = opts.totp ? await enrollTotp(s.services, user, s.services.clock.now()) : undefined;
  return { ...user, totp };
}

/** signs in the way a browser does: /admin → the sign-in page → password (+ code) → back on /admin */
async function consoleSession(s: TestServer, user: { email: string; password: string }, code?: () => string): Promise<{ browser: HttpBrowser; page: Page }> {
  const browser = new HttpBrowser();
  const first = await browser.request(`${s.issuer}/admin`);
  assert.equal(first.status, 303);
  assert.equal(first.headers.get('location'), '/account/sign-in?return=%2Fadmin');
  const login = await browser.follow(first);
  // the deep link survives the sign-in: the redirects end on /admin itself
  const admin = await signInOnPage(browser, login, user, code);
  assert.equal(admin.url, `${s.issuer}/admin`, admin.body.slice(0, 300));
  assert.equal(admin.status, 200);
  return { browser, page: admin };
}

/** an admin with an authenticator, signed in to the console; `code()` gives a fresh code (the clock moves a step) */
async function signedInAdmin(s: TestServer, clock: ReturnType<typeof fixedClock>, u: TestUser & { totp?: { secret: string } }) {
  const code = () => {
    clock.advance(30);
    return codeFor(u.totp!.secret, clock.now());
  };
  return { ...(await consoleSession(s, u, u.totp ? code : undefined)), code };
}

function rowOf(page: Page, userId: string): string {
  const m = new RegExp(`<tr[^>]*id="member-${userId}"[\\s\\S]*?</tr>`).exec(page.body);
  assert.ok(m, `no row for ${userId} on ${page.url}`);
  return m[0];
}

const csrfOf = (page: Page) => /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;

/** submits the form whose action ends with `action` (hidden fields included) with these values */
async function post(browser: HttpBrowser, page: Page, action: string, fields: Record<string, string>) {
  const forms = [...page.body.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
  const f = forms.find((m) => m[1]!.endsWith(action));
  if (!f) return browser.request(formOn(page, action).action, { form: fields }); // formOn throws with the page
  const hidden: [string, string][] = [...f[2]!.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]);
  const body = new URLSearchParams(hidden.filter(([k]) => !(k in fields)));
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  return browser.request(new URL(f[1]!, page.url).toString(), { form: Object.fromEntries(body) as Record<string, string> });
}

async function auditRows(s: TestServer, tenantId: string, event: string) {
  return s.services.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId).where('event', '=', event).execute();
}

test('members list: shield for enrolled, struck through for not enrolled, pending until a date, overdue; coverage; last sign-in and method', async (t) => {
  const { s, clock } = await setup(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const admin = await member(s, tenant, 'owner', 'Olga Owner', { totp: true });
  const alice = await member(s, tenant, 'member', 'Alice Enrolled', { totp: true });
  const bob = await member(s, tenant, 'member', 'Bob Plain');
  const carol = await member(s, tenant, 'admin', 'Carol Late');
  const mallory = await member(s, tenant, 'member', '<img src=x onerror=alert(1)>"');
  const aliceSignIn = daysFrom(T0, -5, '09:30');
  const bobSignIn = daysFrom(T0, -4, '10:00');
  await s.services.db.updateTable('tenant_members').set({ last_sign_in_at: aliceSignIn, last_sign_in_amr: ['pwd', 'otp', 'mfa'] }).where('user_id', '=', alice.id).execute();
  await s.services.db.updateTable('tenant_members').set({ last_sign_in_at: bobSignIn, last_sign_in_amr: ['pwd'] }).where('user_id', '=', bob.id).execute();

  const { browser, page: orgs } = await signedInAdmin(s, clock, admin);
  assert.match(orgs.body, /href="\/admin\/acme"/);
  assert.match(orgs.body, /Acme Inc/);

  let page = await browser.get(`${s.issuer}/admin/acme`);
  assert.equal(page.status, 200);
  assert.match(page.body, /<strong>2 of 5<\/strong> members have 2FA/);
  assert.doesNotMatch(page.body, /<img src=x/, 'names are escaped');
  assert.match(rowOf(page, mallory.id), /&lt;img src=x onerror=alert\(1\)&gt;&quot;/);
  const aliceRow = rowOf(page, alice.id);
  assert.match(aliceRow, /<svg class="tfa-icon" role="img" aria-label="Two-factor authentication on"/);
  assert.match(aliceRow, new RegExp(dayText(aliceSignIn)));
  assert.match(aliceRow, /password \+ 2FA/);
  const bobRow = rowOf(page, bob.id);
  assert.match(bobRow, /<s class="tfa-text" aria-hidden="true">2FA<\/s><span class="visually-hidden">Two-factor authentication not set up<\/span>/);
  assert.doesNotMatch(bobRow, /aria-label="Two-factor authentication on"/);
  assert.match(bobRow, new RegExp(`${dayText(bobSignIn)}</time><span class="muted small method">password<`));
  assert.match(bobRow, /data-state="not_enrolled"/);
  assert.match(rowOf(page, carol.id), /Never/);
  assert.match(page.body, /Two-factor authentication is optional/);

  // a rollout: required from a week on; Carol's own deadline has already passed
  const weekOn = daysFrom(T0, 7);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, enforceFrom: weekOn }, admin.id);
  await s.services.db.updateTable('tenant_members').set({ mfa_deadline: daysFrom(T0, -1) }).where('user_id', '=', carol.id).execute();
  page = await browser.get(`${s.issuer}/admin/acme`);
  assert.match(rowOf(page, bob.id), new RegExp(`data-state="pending"[\\s\\S]*Pending until <time datetime="${weekOn.toISOString()}">${dayText(weekOn)}</time>`));
  assert.match(rowOf(page, carol.id), /data-state="overdue"[\s\S]*<span class="badge overdue">Overdue<\/span>/);
  assert.match(rowOf(page, alice.id), /data-state="enrolled"/);
  assert.match(page.body, new RegExp(`required from <time datetime="${weekOn.toISOString()}">${dayText(weekOn)}</time>`));
  assert.match(page.body, /<strong>2 of 5<\/strong> members have 2FA/);
});

test('settings: the preview lists who would be blocked and saves nothing; confirming turns the requirement on (audited); a date sets a grace period', async (t) => {
  const { s, clock } = await setup(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const admin = await member(s, tenant, 'admin', 'Adam Admin', { totp: true });
  const alice = await member(s, tenant, 'member', 'Alice Enrolled', { totp: true });
  const bob = await member(s, tenant, 'member', 'Bob Plain');
  const { browser } = await signedInAdmin(s, clock, admin);

  const settings = await browser.get(`${s.issuer}/admin/acme/settings`);
  assert.equal(settings.status, 200);
  assert.match(settings.body, /<input type="checkbox" id="require2fa" name="require2fa" value="on" aria-describedby/);
  assert.match(settings.body, /<input type="checkbox" id="method-password" name="methods" value="password" checked>/);

  const preview = await post(browser, settings, '/settings', { require2fa: 'on', enforceFrom: '', methods: 'password' });
  assert.equal(preview.status, 200);
  assert.match(preview.body, /Check before saving/);
  assert.match(preview.body, /1 of 3 members have not set up two-factor authentication/);
  const blocked = /<ul class="blocked-list"[\s\S]*?<\/ul>/.exec(preview.body)![0];
  assert.ok(blocked.includes(bob.email), 'Bob would be blocked');
  assert.ok(!blocked.includes(alice.email), 'Alice has 2FA');
  assert.ok(!blocked.includes(admin.email), 'and so has the admin');
  assert.equal((await s.services.tenants.bySlug('acme')).require2fa, false, 'the preview saves nothing');
  assert.equal((await auditRows(s, tenant.id, 'tenant.policy_changed')).length, 0);

  const saved = await post(browser, preview, '/settings', {});
  assert.equal(saved.status, 303);
  assert.equal(saved.headers.get('location'), '/admin/acme/settings?done=saved');
  const after = await s.services.tenants.bySlug('acme');
  assert.equal(after.require2fa, true);
  assert.equal(after.enforceFrom, null);
  const audit = await auditRows(s, tenant.id, 'tenant.policy_changed');
  assert.equal(audit.length, 1);
  assert.equal(audit[0]!.actor_user_id, admin.id);
  assert.equal((audit[0]!.data as { require2fa: boolean }).require2fa, true);
  const savedPage = await browser.follow(saved);
  assert.match(savedPage.body, /The settings were saved/);
  assert.match(savedPage.body, /name="require2fa" value="on" checked/);
  const members = await browser.get(`${s.issuer}/admin/acme`);
  assert.match(rowOf(members, bob.id), /<span class="badge overdue">Overdue<\/span>/);

  // a grace period: the preview says from when; saving stores the day (00:00 UTC)
  const graceDay = isoDay(daysFrom(T0, 20));
  const graceStart = new Date(`${graceDay}T00:00:00Z`);
  const withDate = await post(browser, savedPage, '/settings', { require2fa: 'on', enforceFrom: graceDay, methods: 'password' });
  assert.match(withDate.body, new RegExp(`From <time datetime="${graceStart.toISOString()}">${dayText(graceStart)}</time> they must set it up`));
  assert.equal((await post(browser, withDate, '/settings', {})).status, 303);
  assert.equal((await s.services.tenants.bySlug('acme')).enforceFrom?.toISOString(), graceStart.toISOString());
  assert.match(rowOf(await browser.get(`${s.issuer}/admin/acme`), bob.id), new RegExp(`Pending until <time datetime="${graceStart.toISOString()}">${dayText(graceStart)}`));

  // turning it off needs no preview; bad input is a 400 with a message, and nothing changes
  const badDate = await post(browser, savedPage, '/settings', { require2fa: 'on', enforceFrom: `${T0.getUTCFullYear()}-02-30`, methods: 'password' });
  assert.equal(badDate.status, 400);
  assert.match(badDate.body, /Enter the date as YYYY-MM-DD/);
  // beside the date field, which names it
  assert.match(badDate.body, /<input type="date" id="enforceFrom"[^>]*aria-describedby="enforceFrom-error enforceFrom-help" aria-invalid="true">\s*<p class="field-error" id="enforceFrom-error">Enter the date/);
  const noMethod = await browser.request(`${s.issuer}/admin/acme/settings`, { form: { _csrf: csrfOf(savedPage), require2fa: 'on' } });
  assert.equal(noMethod.status, 400);
  assert.match(noMethod.body, /<fieldset aria-describedby="methods-error">[\s\S]*<p class="field-error" id="methods-error">Choose at least one sign-in method\.<\/p>/);
  const unknownMethod = await browser.request(`${s.issuer}/admin/acme/settings`, { form: { _csrf: csrfOf(savedPage), methods: 'carrier-pigeon' } });
  assert.equal(unknownMethod.status, 400);
  assert.equal((await s.services.tenants.bySlug('acme')).require2fa, true);
  const off = await post(browser, savedPage, '/settings', { methods: 'password' });
  assert.equal(off.status, 303);
  assert.equal((await s.services.tenants.bySlug('acme')).require2fa, false);
  assert.equal((await auditRows(s, tenant.id, 'tenant.policy_changed')).length, 3);

  // without the CSRF token nothing is saved
  const forged = await browser.request(`${s.issuer}/admin/acme/settings`, { form: { require2fa: 'on', methods: 'password' } });
  assert.equal(forged.status, 403);
  assert.equal((await s.services.tenants.bySlug('acme')).require2fa, false);
});

test('invite by email, change a role, remove a member; only owners touch the owner role; every change audited', async (t) => {
  const { s, clock } = await setup(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const owner = await member(s, tenant, 'owner', 'Olga Owner');
  const admin = await member(s, tenant, 'admin', 'Adam Admin', { totp: true });
  const bob = await member(s, tenant, 'member', 'Bob Plain');
  const { browser } = await signedInAdmin(s, clock, admin);
  let page = await browser.get(`${s.issuer}/admin/acme`);
  assert.doesNotMatch(page.body, /<option value="owner"/, 'an admin is not offered the owner role');
  assert.doesNotMatch(rowOf(page, owner.id), /\/remove"/, 'nor removing an owner');

  // an unknown address: an invitation email; the membership counts once they accept (set a password)
  const invited = await post(browser, page, '/admin/acme/members', { email: 'newcomer@example.com', role: 'member' });
  assert.equal(invited.status, 303);
  assert.equal(invited.headers.get('location'), '/admin/acme?done=invited');
  const newcomer = await s.services.db.selectFrom('users').select(['id', 'password_hash']).where('email', '=', 'newcomer@example.com').executeTakeFirstOrThrow();
  assert.equal(newcomer.password_hash, null);
  assert.equal(await s.services.tenants.roleOf(tenant.id, newcomer.id), null, 'nothing before acceptance');
  const mail = await s.services.db.selectFrom('email_outbox').select('subject').where('to_address', '=', 'newcomer@example.com').execute();
  assert.ok(mail.some((m) => /invited to Acme Inc/.test(m.subject)), JSON.stringify(mail));
  page = await browser.follow(invited);
  assert.match(page.body, /Invitation sent/);
  assert.ok(page.body.includes('newcomer@example.com'));

  // an existing user must accept the emailed invitation first (consent); twice is a conflict
  const existing = await makeUser(s.services, { name: 'Erin Existing' });
  // the same answer as for an address without an account: an admin learns nothing about who has one
  assert.equal((await post(browser, page, '/admin/acme/members', { email: existing.email, role: 'admin' })).headers.get('location'), '/admin/acme?done=invited');
  assert.equal(await s.services.tenants.roleOf(tenant.id, existing.id), null, 'no power over a person who has not accepted');
  await acceptInvitation(s.services, existing.email);
  assert.equal(await s.services.tenants.roleOf(tenant.id, existing.id), 'admin');
  await acceptInvitation(s.services, 'newcomer@example.com');
  assert.equal(await s.services.tenants.roleOf(tenant.id, newcomer.id), 'member');
  const again = await post(browser, page, '/admin/acme/members', { email: existing.email, role: 'member' });
  assert.equal(again.status, 409);
  assert.match(again.body, /already a member/);
  const notEmail = await post(browser, page, '/admin/acme/members', { email: 'not an address', role: 'member' });
  assert.equal(notEmail.status, 400);
  const ownerInvite = await browser.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrfOf(page), email: 'boss@example.com', role: 'owner' } });
  assert.equal(ownerInvite.status, 403, 'an admin cannot invite an owner');
  const badRole = await browser.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrfOf(page), email: 'x@example.com', role: 'emperor' } });
  assert.equal(badRole.status, 400);

  // roles
  const promoted = await browser.request(`${s.issuer}/admin/acme/members/${bob.id}/role`, { form: { _csrf: csrfOf(page), role: 'admin' } });
  assert.equal(promoted.status, 303);
  assert.equal(await s.services.tenants.roleOf(tenant.id, bob.id), 'admin');
  const roleAudit = await auditRows(s, tenant.id, 'tenant.role_changed');
  assert.deepEqual(roleAudit.map((a) => [a.actor_user_id, a.target_user_id, a.data]), [[admin.id, bob.id, { from: 'member', to: 'admin' }]]);
  const makeOwner = await browser.request(`${s.issuer}/admin/acme/members/${bob.id}/role`, { form: { _csrf: csrfOf(page), role: 'owner' } });
  assert.equal(makeOwner.status, 403);
  assert.match(makeOwner.body, /Only owners can grant or remove the owner role/);
  const demoteOwner = await browser.request(`${s.issuer}/admin/acme/members/${owner.id}/role`, { form: { _csrf: csrfOf(page), role: 'member' } });
  assert.equal(demoteOwner.status, 403);
  assert.equal(await s.services.tenants.roleOf(tenant.id, owner.id), 'owner');
  const removeOwner = await browser.request(`${s.issuer}/admin/acme/members/${owner.id}/remove`, { form: { _csrf: csrfOf(page) } });
  assert.equal(removeOwner.status, 403);
  assert.equal(await s.services.tenants.roleOf(tenant.id, owner.id), 'owner');

  // remove: a confirmation page, then the POST
  const confirm = await browser.get(`${s.issuer}/admin/acme/members/${bob.id}/remove`);
  assert.equal(confirm.status, 200);
  assert.match(confirm.body, /Remove Bob Plain from Acme Inc\?/);
  const removed = await post(browser, confirm, `/members/${bob.id}/remove`, {});
  assert.equal(removed.status, 303);
  assert.equal(removed.headers.get('location'), '/admin/acme?done=removed');
  assert.equal(await s.services.tenants.roleOf(tenant.id, bob.id), null);
  const removedAudit = await auditRows(s, tenant.id, 'tenant.member_removed');
  assert.equal(removedAudit.length, 1);
  assert.equal(removedAudit[0]!.actor_user_id, admin.id);
  assert.equal(removedAudit[0]!.target_user_id, bob.id);
  assert.equal((await browser.get(`${s.issuer}/admin/acme/members/${bob.id}/remove`)).status, 404, 'no longer a member');
  const added = await auditRows(s, tenant.id, 'tenant.member_added');
  assert.ok(added.some((a) => a.actor_user_id === admin.id && a.target_user_id === newcomer.id && (a.data as { invited: boolean }).invited === true));

  // an owner may do what an admin may not
  const ownerSession = await consoleSession(s, owner);
  const ownerPage = await ownerSession.browser.get(`${s.issuer}/admin/acme`);
  assert.match(ownerPage.body, /<option value="owner"/);
  const byOwner = await ownerSession.browser.request(`${s.issuer}/admin/acme/members/${existing.id}/role`, { form: { _csrf: csrfOf(ownerPage), role: 'owner' } });
  assert.equal(byOwner.status, 303);
  assert.equal(await s.services.tenants.roleOf(tenant.id, existing.id), 'owner');
});

test('admin 2FA reset: a reason and the admin’s own code; a wrong code is refused; then the member’s factors, codes and sessions are gone, they are mailed, and it is audited', async (t) => {
  const { s, clock } = await setup(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);
  const admin = await member(s, tenant, 'admin', 'Adam Admin', { totp: true });
  const mia = await member(s, tenant, 'member', 'Mia Lostphone', { totp: true });
  const owner = await member(s, tenant, 'owner', 'Olga Owner', { totp: true });

  // Mia is signed in somewhere
  clock.advance(30);
  const miaBrowser = new HttpBrowser();
  {
    const login = await miaBrowser.get(`${s.issuer}/account`);
    const f = formOn(login, '/login');
    let p = await miaBrowser.follow(await miaBrowser.request(f.action, { form: { ...f.fields, email: mia.email, password: mia.password } }));
    const totp = formOn(p, '/totp');
    p = await miaBrowser.follow(await miaBrowser.request(totp.action, { form: { ...totp.fields, code: codeFor(mia.totp!.secret, clock.now()) } }));
    assert.equal(p.url, `${s.issuer}/account`);
  }
  const miaPayloads = () => s.services.db.selectFrom('oidc_payloads').select('model').where(sql`payload->>'accountId'`, '=', mia.id).where('model', '!=', 'Interaction').execute();
  assert.ok((await miaPayloads()).some((p) => p.model === 'Session'));

  const { browser, code } = await signedInAdmin(s, clock, admin);
  const members = await browser.get(`${s.issuer}/admin/acme`);
  assert.match(rowOf(members, mia.id), new RegExp(`href="/admin/acme/members/${mia.id}/reset"`));
  assert.doesNotMatch(rowOf(members, owner.id), /\/reset"/, 'an admin cannot reset an owner');
  assert.doesNotMatch(rowOf(members, admin.id), /\/reset"/, 'nor their own');

  const form = await browser.get(`${s.issuer}/admin/acme/members/${mia.id}/reset`);
  assert.equal(form.status, 200);
  assert.match(form.body, /Reset two-factor authentication of Mia Lostphone\?/);
  assert.match(form.body, /<label for="reason">Reason<\/label>/);

  const wrong = await post(browser, form, `/members/${mia.id}/reset`, { reason: 'lost phone', code: '000000' });
  assert.equal(wrong.status, 403);
  assert.match(wrong.body, /Confirm with a current code from your own authenticator/);
  assert.match(wrong.body, /lost phone/, 'the reason is kept');
  const noReason = await post(browser, form, `/members/${mia.id}/reset`, { reason: '  ', code: code() });
  assert.equal(noReason.status, 400);
  assert.match(noReason.body, /Give a reason/);
  assert.equal((await s.services.twoFactor.status(mia.id)).enabled, true, 'nothing changed yet');

  const ownReset = await browser.request(`${s.issuer}/admin/acme/members/${admin.id}/reset`, { form: { _csrf: csrfOf(form), reason: 'me', code: code() } });
  assert.equal(ownReset.status, 403);
  const ownerReset = await browser.request(`${s.issuer}/admin/acme/members/${owner.id}/reset`, { form: { _csrf: csrfOf(form), reason: 'x', code: code() } });
  assert.equal(ownerReset.status, 403);
  assert.equal((await s.services.twoFactor.status(owner.id)).enabled, true);

  const done = await post(browser, form, `/members/${mia.id}/reset`, { reason: 'Lost phone, confirmed by video call', code: code() });
  assert.equal(done.status, 303);
  assert.equal(done.headers.get('location'), '/admin/acme?done=reset');
  assert.match((await browser.follow(done)).body, /Two-factor authentication was reset/);

  // factors and codes gone, old code and recovery code dead
  assert.equal((await s.services.db.selectFrom('totp_credentials').select('id').where('user_id', '=', mia.id).execute()).length, 0);
  assert.equal((await s.services.db.selectFrom('recovery_codes').select('id').where('user_id', '=', mia.id).execute()).length, 0);
  assert.equal(await s.services.twoFactor.useRecoveryCode(mia, mia.totp!.recoveryCodes[0]!, {}), 'invalid');
  // sessions and tokens ended
  assert.deepEqual(await miaPayloads(), []);
  const miaAgain = await miaBrowser.request(`${s.issuer}/account`);
  assert.equal(miaAgain.status, 303, 'signed out');
  // mailed
  const mail = await s.services.db.selectFrom('email_outbox').select(['subject']).where('to_address', '=', mia.email).execute();
  assert.ok(mail.some((m) => /reset by an administrator/.test(m.subject)), JSON.stringify(mail));
  // audited with actor, target and reason
  const audit = await auditRows(s, tenant.id, 'tenant.member_2fa_reset');
  assert.equal(audit.length, 1);
  assert.equal(audit[0]!.actor_user_id, admin.id);
  assert.equal(audit[0]!.target_user_id, mia.id);
  assert.deepEqual(audit[0]!.data, { reason: 'Lost phone, confirmed by video call' });
  // the audit page shows it
  const log = await browser.get(`${s.issuer}/admin/acme/audit?event=tenant.&member=${mia.id}`);
  assert.equal(log.status, 200);
  assert.match(log.body, /data-event="tenant.member_2fa_reset"/);
  assert.match(log.body, /reason: Lost phone, confirmed by video call/);
  assert.doesNotMatch(log.body, /data-event="login\./, 'filtered by event prefix');
  const logins = await browser.get(`${s.issuer}/admin/acme/audit?event=login.`);
  assert.match(logins.body, /data-event="login.succeeded"/);
  assert.doesNotMatch(logins.body, /data-event="tenant\./);
  assert.equal((await browser.get(`${s.issuer}/admin/acme/audit?member=not-a-uuid`)).status, 400);
});

test('a person who also belongs to an organization the admin does not administer cannot be reset by that admin', async (t) => {
  const { s, clock } = await setup(t);
  const acme = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const globex = await s.services.tenants.create({ slug: 'globex', name: 'Globex' });
  const admin = await member(s, acme, 'admin', 'Adam Admin', { totp: true });
  const shared = await member(s, acme, 'member', 'Sam Shared', { totp: true });
  await s.services.tenants.addMember(globex, shared.email, 'member', null);
  const { browser, code } = await signedInAdmin(s, clock, admin);
  const form = await browser.get(`${s.issuer}/admin/acme/members/${shared.id}/reset`);
  assert.match(form.body, /also belongs to another organization/);
  assert.doesNotMatch(form.body, /name="code"/, 'no form to fill in');
  const csrf = csrfOf(await browser.get(`${s.issuer}/admin/acme`));
  const refused = await browser.request(`${s.issuer}/admin/acme/members/${shared.id}/reset`, { form: { _csrf: csrf, reason: 'lost phone', code: code() } });
  assert.equal(refused.status, 403);
  assert.equal((await s.services.twoFactor.status(shared.id)).enabled, true);
});

test('a plain member, a stranger and a signed-out visitor get nothing', async (t) => {
  const { s, clock } = await setup(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  await member(s, tenant, 'owner', 'Olga Owner');
  const plain = await member(s, tenant, 'member', 'Paul Plain');
  const { browser, page } = await signedInAdmin(s, clock, plain);
  assert.match(page.body, /You do not manage any organization/);
  assert.doesNotMatch(page.body, /Acme Inc/);
  for (const path of ['/admin/acme', '/admin/acme/settings', '/admin/acme/audit', `/admin/acme/members/${plain.id}/remove`]) {
    const res = await browser.get(`${s.issuer}${path}`);
    assert.equal(res.status, 404, path);
    assert.doesNotMatch(res.body, /Acme Inc|Olga Owner/, path);
  }
  const csrf = csrfOf(await browser.get(`${s.issuer}/account`));
  const leave = await browser.request(`${s.issuer}/admin/acme/members/${plain.id}/role`, { form: { _csrf: csrf, role: 'owner' } });
  assert.equal(leave.status, 404);
  assert.equal(await s.services.tenants.roleOf(tenant.id, plain.id), 'member');

  const anonymous = new HttpBrowser();
  const res = await anonymous.request(`${s.issuer}/admin/acme`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account/sign-in?return=%2Fadmin%2Facme');
  const anonPost = await anonymous.request(`${s.issuer}/admin/acme/settings`, { form: { require2fa: 'on', methods: 'password' } });
  assert.equal(anonPost.status, 401);
  assert.equal((await s.services.tenants.bySlug('acme')).require2fa, false);
});

test('cross-tenant isolation: an admin of Acme reaches nothing of Globex, by slug or by member id, and changes nothing', async (t) => {
  const { s, clock } = await setup(t);
  const acme = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const globex = await s.services.tenants.create({ slug: 'globex', name: 'Globex Corporation' });
  const adminA = await member(s, acme, 'owner', 'Alma AcmeOwner', { totp: true });
  const memberA = await member(s, acme, 'member', 'Arno AcmeMember');
  await member(s, globex, 'owner', 'Gus GlobexOwner', { totp: true });
  const memberB = await member(s, globex, 'member', 'Gina GlobexMember', { totp: true });

  const snapshot = async () => ({
    tenant: await s.services.db.selectFrom('tenants').selectAll().where('id', '=', globex.id).executeTakeFirst(),
    members: await s.services.db.selectFrom('tenant_members').selectAll().where('tenant_id', '=', globex.id).orderBy('user_id').execute(),
    factors: await s.services.db.selectFrom('totp_credentials').select(['id', 'user_id']).where('user_id', '=', memberB.id).execute(),
    codes: (await s.services.db.selectFrom('recovery_codes').select('id').where('user_id', '=', memberB.id).execute()).length,
    audit: (await s.services.db.selectFrom('audit_events').select('id').where('tenant_id', '=', globex.id).execute()).length,
    users: (await s.services.db.selectFrom('users').select('id').execute()).length,
    mail: (await s.services.db.selectFrom('email_outbox').select('id').execute()).length,
    acmeMembers: await s.services.db.selectFrom('tenant_members').select(['user_id', 'role']).where('tenant_id', '=', acme.id).orderBy('user_id').execute(),
  });
  const before = await snapshot();

  const { browser, page, code } = await signedInAdmin(s, clock, adminA);
  assert.doesNotMatch(page.body, /Globex/);
  const csrf = csrfOf(await browser.get(`${s.issuer}/admin/acme`));
  const unknown = await browser.get(`${s.issuer}/admin/no-such-org`);
  assert.equal(unknown.status, 404);

  const B = memberB.id;
  const gets = [
    '/admin/globex',
    '/admin/globex/settings',
    '/admin/globex/audit',
    `/admin/globex/audit?member=${B}`,
    `/admin/globex/members/${B}/reset`,
    `/admin/globex/members/${B}/remove`,
    `/admin/globex/members/${memberA.id}/reset`,
    // Acme's routes with Globex's member id
    `/admin/acme/members/${B}/reset`,
    `/admin/acme/members/${B}/remove`,
    `/admin/acme/audit?member=${B}`,
  ];
  for (const path of gets) {
    const res = await browser.get(`${s.issuer}${path}`);
    assert.equal(res.status, 404, `GET ${path}`);
    assert.doesNotMatch(res.body, /Globex|Gina|Gus/, `GET ${path} reveals nothing`);
    if (path.startsWith('/admin/globex')) assert.equal(res.body, unknown.body, `GET ${path}: the same answer as an organization that does not exist`);
  }
  const posts: [string, Record<string, string>][] = [
    ['/admin/globex/members', { email: 'spy@example.com', role: 'owner' }],
    ['/admin/globex/members', { email: adminA.email, role: 'member' }],
    [`/admin/globex/members/${B}/role`, { role: 'admin' }],
    [`/admin/globex/members/${B}/remove`, {}],
    [`/admin/globex/members/${B}/reset`, { reason: 'takeover', code: code() }],
    ['/admin/globex/settings', { require2fa: 'on', methods: 'password', preview: '1' }],
    ['/admin/globex/settings', { require2fa: 'on', methods: 'password' }],
    ['/admin/globex/settings', { methods: 'nonsense' }],
    [`/admin/acme/members/${B}/role`, { role: 'member' }],
    [`/admin/acme/members/${B}/remove`, {}],
    [`/admin/acme/members/${B}/reset`, { reason: 'takeover', code: code() }],
  ];
  for (const [path, fields] of posts) {
    const res = await browser.request(`${s.issuer}${path}`, { form: { _csrf: csrf, ...fields } });
    assert.equal(res.status, 404, `POST ${path} ${JSON.stringify(fields)}`);
    assert.doesNotMatch(res.body, /Globex|Gina|Gus/, `POST ${path} reveals nothing`);
  }
  assert.deepEqual(await snapshot(), before, 'nothing of Globex (or Acme) changed, no mail was sent');
});

test('admin actions follow the 2FA policy: once the organization requires 2FA, a password-only session must sign in again with a second factor', async (t) => {
  const { s, clock } = await setup(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  await member(s, tenant, 'owner', 'Olga Owner', { totp: true });
  const admin = await member(s, tenant, 'admin', 'Adam Nofactor');
  const { browser } = await signedInAdmin(s, clock, admin);
  const page = await browser.get(`${s.issuer}/admin/acme`);
  assert.equal(page.status, 200);

  // a grace period changes nothing yet
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, enforceFrom: daysFrom(T0, 7) }, null);
  assert.equal((await browser.request(`${s.issuer}/admin/acme`)).status, 200);

  // enforced: the password-only session no longer administers; signing in again asks for more than the session has
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, enforceFrom: null }, null);
  const res = await browser.request(`${s.issuer}/admin/acme`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account/sign-in?return=%2Fadmin%2Facme');
  const blocked = await browser.request(`${s.issuer}/admin/acme/members/${admin.id}/role`, { form: { _csrf: csrfOf(page), role: 'member' } });
  assert.equal(blocked.status, 401);
  assert.equal(await s.services.tenants.roleOf(tenant.id, admin.id), 'admin');
  const again = await browser.get(`${s.issuer}/admin/acme`);
  assert.match(new URL(again.url).pathname, /^\/interaction\//, 'not let through on the old session');
});
