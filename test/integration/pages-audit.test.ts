// The organization's audit log as people read it: sentences, the operator named for CLI actions, nothing from before
// a member joined, paging, filters by person, event and date, and a CSV export that cannot carry a formula.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import { HttpBrowser } from '../helpers/http-browser.ts';
import { startServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { daysFrom, isoDay } from '../helpers/totp.ts';

const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
const sentences = (html: string) => [...html.matchAll(/<p class="audit-sentence break">([^<]*)<\/p>/g)].map((m) => text(m[1]!).trim());

test('audit log reads as sentences, names the operator for CLI actions, shows nothing from before a member joined, pages, filters and exports safe CSV', async (t) => {
  const s = await startServer(t);
  const db = s.services.db;
  const now = new Date();
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' }, { userAgent: 'gatehouse-cli' });
  const owner = await makeUser(s.services, { name: 'Olga Owner' });
  await s.services.tenants.addMember(tenant, owner.email, 'owner', null, { userAgent: 'gatehouse-cli' });
  // Bob signed in somewhere three days before he joined: not Acme's business
  const bob = await makeUser(s.services, { name: '=HYPERLINK("http://evil.example","Bob")' });
  await db.insertInto('audit_events').values({ event: 'login.succeeded', target_user_id: bob.id, at: daysFrom(now, -3), data: JSON.stringify({ method: 'pwd' }), ip: '198.51.100.7' }).execute();
  await s.services.tenants.addMember(tenant, bob.email, 'member', null, { userAgent: 'gatehouse-cli' });
  await db.insertInto('audit_events').values({ event: 'totp.enabled', target_user_id: bob.id, actor_user_id: bob.id, data: JSON.stringify({}) }).execute();
  // an old organization event, ten days ago, for the date filter; and 60 role changes for paging
  const tenDaysAgo = daysFrom(now, -10, '12:00');
  await db.insertInto('audit_events').values({ event: 'tenant.policy_changed', tenant_id: tenant.id, actor_user_id: owner.id, at: tenDaysAgo, data: JSON.stringify({ require2fa: true }) }).execute();
  await db
    .insertInto('audit_events')
    .values(Array.from({ length: 60 }, (_, i) => ({ event: 'tenant.role_changed', tenant_id: tenant.id, actor_user_id: owner.id, target_user_id: bob.id, at: daysFrom(now, -1), data: JSON.stringify({ from: i % 2 ? 'admin' : 'member', to: i % 2 ? 'member' : 'admin' }) })))
    .execute();

  const browser = new HttpBrowser();
  const landed = await signInOnPage(browser, await browser.get(`${s.issuer}/admin/acme/audit?event=tenant.member`), owner);
  assert.equal(landed.url, `${s.issuer}/admin/acme/audit?event=tenant.member`);
  assert.deepEqual(sentences(landed.body), ['operator (CLI) added =HYPERLINK("http://evil.example","Bob") to Acme Inc as member', 'operator (CLI) added Olga Owner to Acme Inc as owner']);

  // the sign-in that just happened, in words (password only: the method, not "pwd")
  const signIns = sentences((await browser.get(`${s.issuer}/admin/acme/audit?event=login.`)).body);
  assert.ok(signIns.includes('Olga Owner signed in to the account page with password'), signIns.join('\n'));
  assert.ok(signIns.every((l) => !/\bpwd\b/.test(l)));

  // nothing of Bob's from before he joined; his 2FA change after it is there
  const bobs = await browser.get(`${s.issuer}/admin/acme/audit?member=${bob.id}&event=totp.`);
  assert.deepEqual(sentences(bobs.body), [`${'=HYPERLINK("http://evil.example","Bob")'} turned on two-factor authentication`]);
  const bobLogins = await browser.get(`${s.issuer}/admin/acme/audit?member=${bob.id}&event=login.`);
  assert.deepEqual(sentences(bobLogins.body), [], 'the sign-in from before he joined is not shown');
  assert.doesNotMatch(bobLogins.body, /198\.51\.100\.7/);

  // paging: 50 a page, then the rest; the filter stays on the "Older events" link
  const first = await browser.get(`${s.issuer}/admin/acme/audit?event=tenant.role_changed`);
  assert.equal(sentences(first.body).length, 50);
  assert.equal(sentences(first.body)[0], "Olga Owner changed =HYPERLINK(\"http://evil.example\",\"Bob\")'s role in Acme Inc from admin to member");
  const older = /<a href="([^"]+)" rel="next">Older events<\/a>/.exec(first.body)![1]!.replace(/&amp;/g, '&');
  assert.match(older, /event=tenant.role_changed/);
  const second = await browser.get(`${s.issuer}/admin/acme/audit${older}`);
  assert.equal(sentences(second.body).length, 10);
  assert.doesNotMatch(second.body, /rel="next"/);
  assert.match(second.body, /Newest events/);

  // a date range: the one event ten days ago; "to" counts the whole day
  const day = isoDay(tenDaysAgo);
  const dated = await browser.get(`${s.issuer}/admin/acme/audit?from=${day}&to=${day}`);
  assert.deepEqual(sentences(dated.body), ['Olga Owner changed the settings of Acme Inc: two-factor authentication required']);
  const bad = await browser.get(`${s.issuer}/admin/acme/audit?from=${day}&to=${isoDay(daysFrom(tenDaysAgo, -1))}`);
  assert.equal(bad.status, 400);
  assert.match(bad.body, /aria-invalid="true" aria-describedby="f-to-error"/);
  assert.match(text(bad.body), /The end date is before the start date/);
  assert.equal((await browser.get(`${s.issuer}/admin/acme/audit?from=2026-02-31`)).status, 400, 'not a real day: refused by the page, not a 500');

  // CSV: the same filters, an attachment, no cell a spreadsheet would run
  const csv = await browser.request(`${s.issuer}/admin/acme/audit.csv?event=tenant.member`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type')!, /^text\/csv/);
  assert.equal(csv.headers.get('content-disposition'), 'attachment; filename="acme-audit.csv"');
  const lines = csv.body.trimEnd().split('\r\n');
  assert.equal(lines[0], 'time (UTC),event,what happened,by,member,app,ip');
  assert.equal(lines.length, 3);
  assert.match(lines[1]!, /,"'=HYPERLINK\(""http:\/\/evil.example"",""Bob""\)",/, 'the name cell is defused');
  for (const line of lines) for (const cell of line.match(/("([^"]|"")*"|[^,]*)/g)!) assert.doesNotMatch(cell, /^"?[=+\-@]/);
  assert.match(csv.body, /operator \(CLI\)/);
  assert.equal((await browser.request(`${s.issuer}/admin/acme/audit.csv?member=not-a-uuid`)).status, 400);
  assert.equal((await new HttpBrowser().request(`${s.issuer}/admin/acme/audit.csv`)).status, 303, 'signed out: no export');
});
