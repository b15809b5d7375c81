// Mail goes through the outbox to a real SMTP server on loopback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import { startServer } from '../helpers/server.ts';
import { startSmtpSink } from '../helpers/smtp.ts';
import { enrollTotp } from '../helpers/totp.ts';

test('email-delivery: turning on 2FA mails the user through real SMTP, text and HTML', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  const s = await startServer(t, { env: { SMTP_URL: sink.url } });
  const user = await makeUser(s.services);
  await enrollTotp(s.services, user);
  const mail = await sink.waitFor((m) => m.to.includes(user.email.toLowerCase()) || m.to.includes(user.email));
  assert.match(mail.subject, /two-factor authentication turned on/);
  assert.match(mail.raw, /text\/plain/);
  assert.match(mail.raw, /text\/html/);
  // the worker marks the row sent when its transaction commits, just after the SMTP server accepted the message
  let row = await s.services.db.selectFrom('email_outbox').select(['sent_at', 'attempts']).executeTakeFirstOrThrow();
  for (let i = 0; i < 100 && !row.sent_at; i++) {
    await new Promise((r) => setTimeout(r, 50));
    row = await s.services.db.selectFrom('email_outbox').select(['sent_at', 'attempts']).executeTakeFirstOrThrow();
  }
  assert.ok(row.sent_at);
  assert.equal(row.attempts, 1);
});

test('outbox-survives-smtp-outage: mail triggered while SMTP is down arrives exactly once when it is back', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  const s = await startServer(t, { env: { SMTP_URL: sink.url } });
  await sink.stop();
  const user = await makeUser(s.services);
  await enrollTotp(s.services, user);
  // the worker tries, fails, and backs off; the message stays in the outbox
  for (let i = 0; i < 100; i++) {
    const r = await s.services.db.selectFrom('email_outbox').select('attempts').executeTakeFirst();
    if (r && r.attempts > 0) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  const failed = await s.services.db.selectFrom('email_outbox').select(['attempts', 'sent_at', 'last_error']).executeTakeFirstOrThrow();
  assert.ok(failed.attempts >= 1);
  assert.equal(failed.sent_at, null);
  await sink.start();
  await sink.waitFor((m) => /turned on/.test(m.subject), 15_000);
  await new Promise((res) => setTimeout(res, 1500)); // a few more worker rounds: nothing is sent twice
  assert.equal(sink.messages.length, 1);
});

test('a change that rolls back sends no mail', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const pending = await s.services.twoFactor.startEnrollment(user, 'Phone');
  await assert.rejects(s.services.twoFactor.activate(user, pending.credentialId, '000000', {}));
  const rows = await s.services.db.selectFrom('email_outbox').select('id').execute();
  assert.equal(rows.length, 0);
});
