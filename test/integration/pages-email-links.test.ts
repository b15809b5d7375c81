// Email verification: "Resend the link" on /account and on the expired-link page, throttled per account; a link that
// no longer works (expired or used) always offers the next step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpBrowser, formOn, type Page } from '../helpers/http-browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { PASSWORD } from '../helpers/factories.ts';
import { fixedClock, stepStart } from '../helpers/totp.ts';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;|’/g, "'").replace(/\s+/g, ' ');
const verifyLinks = async (s: TestServer, email: string) =>
  (await s.services.db.selectFrom('email_outbox').select('text_body').where('to_address', '=', email).orderBy('id').execute())
    .map((r) => /\/verify-email\?token=([A-Za-z0-9_-]+)/.exec(r.text_body)?.[1])
    .filter((t): t is string => Boolean(t));
const post = (b: HttpBrowser, page: Page, action: string, fields: Record<string, string> = {}) => {
  const f = formOn(page, action);
  return b.request(f.action, { form: { ...f.fields, ...fields } });
};

test('email verification: Resend the link on the expired-link page (throttled); a used link says it is done and where to go', async (t) => {
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const user = await s.services.users.create({ email: 'unverified@example.com', password: PASSWORD, name: 'Una' });
  assert.equal(await s.services.accounts.resendVerification({ userId: user.id }, {}), 'sent');
  const [first] = await verifyLinks(s, user.email);

  // a day and a bit later the link has expired: the page says so and offers a new one
  clock.advance(25 * 3600);
  const b = new HttpBrowser();
  const expired = await b.get(`${s.issuer}/verify-email?token=${first}`);
  assert.equal(expired.status, 400);
  assert.match(text(expired.body), /This link has expired/);
  const resent = await post(b, expired, '/verify-email/resend');
  assert.equal(resent.status, 200);
  assert.match(text(resent.body), /We sent a new link/);
  const links = await verifyLinks(s, user.email);
  assert.equal(links.length, 2);

  // pressed again at once: throttled, and no third mail
  const again = await post(b, expired, '/verify-email/resend');
  assert.equal(again.status, 429);
  assert.match(text(again.body), /We sent one a moment ago/);
  assert.equal((await verifyLinks(s, user.email)).length, 2);

  // the new link works; used again, the page says the address is confirmed and links to the account
  const fresh = links[1]!;
  const confirm = await b.get(`${s.issuer}/verify-email?token=${fresh}`);
  const done = await post(b, confirm, '/verify-email');
  assert.match(text(done.body), /Email address confirmed/);
  const used = await b.get(`${s.issuer}/verify-email?token=${fresh}`);
  assert.equal(used.status, 400);
  assert.match(text(used.body), /This link was already used/);
  assert.match(text(used.body), /Your email address is already confirmed/);
  assert.match(used.body, /href="\/account">Go to your account</);
  // an unknown token still offers a way on
  const unknown = await b.get(`${s.issuer}/verify-email?token=${'x'.repeat(43)}`);
  assert.equal(unknown.status, 400);
  assert.match(unknown.body, /href="\/account">Sign in</);
});

test('email verification: Resend the link on /account, throttled (one a minute)', async (t) => {
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const user = await s.services.users.create({ email: 'later@example.com', password: PASSWORD, name: 'Lee' });
  const b = new HttpBrowser();
  const account = await signInOnPage(b, await b.get(`${s.issuer}/account`), { email: user.email, password: PASSWORD });
  assert.equal(account.url, `${s.issuer}/account`);
  assert.match(text(account.body), /not verified Resend the link/);
  const sent = await b.follow(await post(b, account, '/account/email/resend-verification'));
  assert.match(text(sent.body), /We sent a new link to confirm your email address/);
  const throttled = await b.follow(await post(b, sent, '/account/email/resend-verification'));
  assert.match(text(throttled.body), /A link was sent a moment ago/);
  assert.equal((await verifyLinks(s, user.email)).length, 1);
  clock.advance(61);
  await post(b, throttled, '/account/email/resend-verification');
  assert.equal((await verifyLinks(s, user.email)).length, 2, 'a minute later, another');
});

test('an expired or used link page always offers the next step: reset, invitation, join', async (t) => {
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const b = new HttpBrowser();
  for (const [path, next] of [
    ['/reset-password', /href="\/forgot-password">Send a new reset link</],
    ['/invite', /Ask the person who invited you to send the invitation again/],
    ['/join', /Ask the person who invited you to send the invitation again/],
  ] as const) {
    const page = await b.get(`${s.issuer}${path}?token=${'y'.repeat(43)}`);
    assert.equal(page.status, 400, path);
    assert.doesNotMatch(page.body, /<h1>Error/, path);
    if (path === '/reset-password') assert.match(page.body, next, path);
    else assert.match(page.body, /href="\/account"/, path);
  }
  // a real invitation that expired: the invitee is told to ask again
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  await s.services.tenants.addMember(tenant, 'late@example.com', 'member', null);
  const token = /\/invite\?token=([A-Za-z0-9_-]+)/.exec((await s.services.db.selectFrom('email_outbox').select('text_body').where('to_address', '=', 'late@example.com').executeTakeFirstOrThrow()).text_body)![1]!;
  clock.advance(8 * 24 * 3600);
  const late = await b.get(`${s.issuer}/invite?token=${token}`);
  assert.equal(late.status, 400);
  assert.match(text(late.body), /This link has expired/);
  assert.match(text(late.body), /Ask the person who invited you to send the invitation again/);
});
