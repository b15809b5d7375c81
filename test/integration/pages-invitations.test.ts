// Organization invitations tell the truth, and "Reset 2FA" is offered only where the admin can do it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import { HttpBrowser, type Page } from '../helpers/http-browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

const csrfOf = (page: Page) => /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
const rowOf = (page: Page, userId: string) => new RegExp(`<tr[^>]*id="member-${userId}"[\\s\\S]*?</tr>`).exec(page.body)?.[0] ?? '';
const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;|&rsquo;|’/g, "'").replace(/\s+/g, ' ');

async function console_(s: TestServer, user: { email: string; password: string }, code?: () => string) {
  const browser = new HttpBrowser();
  const page = await signInOnPage(browser, await browser.get(`${s.issuer}/admin/acme`), user, code);
  assert.equal(page.url, `${s.issuer}/admin/acme`);
  return { browser, page };
}

const mailsTo = (s: TestServer, email: string) =>
  s.services.db.selectFrom('email_outbox').select(['subject', 'text_body']).where('to_address', '=', email).orderBy('id').execute();

test('invitations tell the truth: an existing account is invited to join (never "choose a password"), re-inviting sends it again, invitees are badged and not counted', async (t) => {
  const s = await startServer(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const owner = await makeUser(s.services, { name: 'Olga Owner' });
  await s.services.tenants.addMember(tenant, owner.email, 'owner', null);
  const existing = await makeUser(s.services, { name: 'Erin Existing' });
  const { browser, page } = await console_(s, owner);

  // the help text says the consent rule: everyone accepts from an email; nothing applies before
  assert.match(text(page.body), /Everyone you invite gets an email and joins only when they accept it; until then Acme Inc has no say over their account/);
  assert.doesNotMatch(page.body, /become members at once/);

  // a bad address: the error stands beside the address field, which names it
  const bad = await browser.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrfOf(page), email: 'not-an-address', role: 'member' } });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /<input id="invite-email"[^>]*aria-invalid="true" aria-describedby="invite-email-error invite-help"/);
  assert.match(bad.body, /<p class="field-error" id="invite-email-error">Enter a valid email address\.<\/p>/);

  const invite = await browser.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrfOf(page), email: existing.email, role: 'admin' } });
  assert.equal(invite.status, 303);
  assert.equal(invite.headers.get('location'), '/admin/acme?done=invited');
  const after = await browser.follow(invite);
  assert.match(text(after.body), /Invitation sent; they join when they accept it from the email\./);
  const mails = await mailsTo(s, existing.email);
  assert.equal(mails.length, 1);
  assert.match(mails[0]!.subject, /^Join Acme Inc/);
  assert.doesNotMatch(mails[0]!.text_body, /password/i, 'an existing account is not told to choose a password');

  // listed with an "Invited" badge, not counted as a member, no 2FA state shown, no reset
  const row = rowOf(after, existing.id);
  assert.match(row, /<span class="badge invited">Invited<\/span>/);
  assert.match(text(row), /Not joined yet/);
  assert.doesNotMatch(row, /Reset 2FA/);
  assert.match(text(row), /Cancel invitation/);
  assert.match(text(after.body), /0 of 1 member has 2FA/, 'coverage counts the owner only');
  assert.match(after.body, /id="member-count">1</);
  assert.match(text(after.body), /and 1 invited/);

  // re-inviting: "sent again", a fresh link (the first stops working), the role asked for now; never "already a member"
  const firstLink = /\/join\?token=([A-Za-z0-9_-]+)/.exec(mails[0]!.text_body)![1]!;
  const again = await browser.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrfOf(after), email: existing.email, role: 'member' } });
  assert.equal(again.status, 303);
  assert.equal(again.headers.get('location'), '/admin/acme?done=reinvited');
  assert.match(text((await browser.follow(again)).body), /Invitation sent again; they join when they accept it from the email\./);
  const mails2 = await mailsTo(s, existing.email);
  assert.equal(mails2.length, 2);
  assert.match(mails2[1]!.subject, /^Join Acme Inc/);
  assert.equal(await s.services.accounts.linkValid(firstLink, 'join_tenant'), false, 'the earlier link no longer works');
  const secondLink = /\/join\?token=([A-Za-z0-9_-]+)/.exec(mails2[1]!.text_body)![1]!;
  assert.equal(await s.services.tenants.roleOf(tenant.id, existing.id), null, 'nothing before acceptance');
  await s.services.accounts.joinTenant(secondLink, {});
  assert.equal(await s.services.tenants.roleOf(tenant.id, existing.id), 'member', 'the role of the latest invitation');

  // a joined member is a member: inviting again is refused, and now counted
  const dup = await browser.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrfOf(after), email: existing.email, role: 'member' } });
  assert.equal(dup.status, 409);
  assert.match(dup.body, /already a member/);
  assert.match(text(dup.body), /0 of 2 members have 2FA/);

  // someone new: the invitation is to create an account (choose a password); re-inviting sends that again
  const newcomer = 'newcomer@example.com';
  await browser.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrfOf(after), email: newcomer, role: 'member' } });
  const re = await browser.request(`${s.issuer}/admin/acme/members`, { form: { _csrf: csrfOf(after), email: newcomer, role: 'member' } });
  assert.equal(re.headers.get('location'), '/admin/acme?done=reinvited');
  const newMails = await mailsTo(s, newcomer);
  assert.equal(newMails.length, 2);
  for (const m of newMails) assert.match(m.text_body, /\/invite\?token=/);
});

test('Reset 2FA is not offered where the admin cannot do it; where another organization must agree, the page says what to do; form errors sit beside their fields', async (t) => {
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const acme = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const globex = await s.services.tenants.create({ slug: 'globex', name: 'Globex' });
  const add = async (tenant: typeof acme, name: string, role: 'owner' | 'admin' | 'member') => {
    const u = await makeUser(s.services, { name });
    await s.services.tenants.addMember(tenant, u.email, role, null);
    return { ...u, totp: await enrollTotp(s.services, u, clock.now()) };
  };
  const admin = await add(acme, 'Adam Admin', 'admin');
  const owner = await add(acme, 'Olga Owner', 'owner');
  const local = await add(acme, 'Lou Local', 'member');
  const shared = await add(acme, 'Sam Shared', 'member');
  await s.services.tenants.addMember(globex, shared.email, 'member', null);
  const { browser, page } = await console_(s, admin, () => {
    clock.advance(30);
    return codeFor(admin.totp.secret, clock.now());
  });

  assert.match(rowOf(page, local.id), /Reset 2FA/, 'a member only of this organization: offered');
  assert.doesNotMatch(rowOf(page, owner.id), /Reset 2FA|reset-note/, "an owner's, by an admin: not offered");
  assert.doesNotMatch(rowOf(page, admin.id), /Reset 2FA|reset-note/, 'one’s own: not offered (the account page does that)');
  const sharedRow = rowOf(page, shared.id);
  assert.doesNotMatch(sharedRow, /class="small-button"[^>]*>Reset 2FA/, 'also in an organization the admin does not administer: not offered');
  assert.match(text(sharedRow), /2FA reset: also in another organization\. What to do/);
  assert.doesNotMatch(sharedRow, /Globex/, 'the other organization is not named');
  const explained = await browser.get(`${s.issuer}/admin/acme/members/${shared.id}/reset`);
  assert.match(text(explained.body), /takes someone who administers every organization they belong to, or your Gatehouse operator/);
  assert.doesNotMatch(explained.body, /name="code"/);

  // form errors: every field's error at once, beside its field (aria-invalid + aria-describedby), nothing done
  const form = await browser.get(`${s.issuer}/admin/acme/members/${local.id}/reset`);
  const empty = await browser.request(`${s.issuer}/admin/acme/members/${local.id}/reset`, { form: { _csrf: csrfOf(form), reason: '  ', code: '' } });
  assert.equal(empty.status, 400);
  assert.match(empty.body, /<textarea id="reason"[^>]*aria-describedby="reason-error reason-help" aria-invalid="true"/);
  assert.match(empty.body, /<p class="field-error" id="reason-error">Give a reason; it goes to the audit log\.<\/p>/);
  assert.match(empty.body, /<input id="code"[^>]*aria-invalid="true" aria-describedby="code-error"/);
  assert.match(empty.body, /<p class="field-error" id="code-error">Enter a current code/);
  assert.doesNotMatch(empty.body, /role="alert" id="form-error"/, 'no page-level error for field mistakes');
  assert.equal((await s.services.twoFactor.status(local.id)).enabled, true, 'nothing was reset');
  const wrong = await browser.request(`${s.issuer}/admin/acme/members/${local.id}/reset`, { form: { _csrf: csrfOf(form), reason: 'lost phone', code: '000000' } });
  assert.equal(wrong.status, 403);
  assert.match(wrong.body, /<p class="field-error" id="code-error">Confirm with a current code from your own authenticator\.<\/p>/);
  assert.match(wrong.body, />lost phone<\/textarea>/, 'the reason typed is kept');

  // an admin of both organizations may: the button is there
  await s.services.tenants.addMember(globex, admin.email, 'admin', null);
  assert.match(rowOf(await browser.get(`${s.issuer}/admin/acme`), shared.id), /Reset 2FA/);
});
