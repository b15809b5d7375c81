// Scenario 11: the SMTP server is down for a while. Mail waits in the outbox and each message is sent exactly once
// when the server is back, with three nodes each running the outbox worker. The outage lasts seconds here (minutes
// or hours in production: the worker's back-off is capped at an hour, so a long outage only means later mail).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSmtpSink } from '../helpers/smtp.ts';
import { startServer } from '../helpers/server.ts';
import { makeUser } from '../helpers/factories.ts';
import { reportRow } from './report.ts';

const NODES = 3;
const MAILS = 30;
const OUTAGE_MS = 4000;

test('smtp-outage-exactly-once: mail written while SMTP is down is delivered once each when it returns, with 3 nodes sending', { timeout: 90_000 }, async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.stop());
  const first = await startServer(t, { env: { SMTP_URL: sink.url } });
  const nodes = [first];
  for (let i = 1; i < NODES; i++) nodes.push(await startServer(t, { databaseUrl: first.databaseUrl, env: { SMTP_URL: sink.url } }));

  await sink.stop();
  const started = Date.now();
  const users = [];
  for (let i = 0; i < MAILS; i++) users.push(await makeUser(first.services, { email: `outage${i}-${Date.now()}@example.com` }));
  // each node writes a third of the mail (a password reset request, as the forgot-password page makes)
  await Promise.all(users.map((u, i) => nodes[i % NODES]!.services.accounts.requestPasswordReset(u.email, {})));

  // while SMTP is down every worker tries, fails and backs off; nothing is marked sent
  const db = first.services.db;
  for (;;) {
    const tried = await db.selectFrom('email_outbox').select((e) => e.fn.countAll<string>().as('n')).where('attempts', '>', 0).executeTakeFirstOrThrow();
    if (Number(tried.n) >= NODES || Date.now() - started > OUTAGE_MS) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const remaining = OUTAGE_MS - (Date.now() - started);
  if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
  const during = await db.selectFrom('email_outbox').select(['attempts', 'sent_at', 'last_error']).execute();
  assert.equal(during.length, MAILS);
  assert.ok(during.every((r) => r.sent_at === null), 'nothing is sent while SMTP is down');
  const failedAttempts = during.reduce((n, r) => n + r.attempts, 0);
  assert.ok(failedAttempts >= NODES, `workers tried during the outage (${failedAttempts} attempts)`);
  assert.equal(sink.messages.length, 0, 'no mail reaches a stopped server');

  await sink.start();
  const back = Date.now();
  const until = back + 45_000;
  while (sink.messages.length < MAILS && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  const recoverySeconds = (Date.now() - back) / 1000;
  // a few more rounds of every worker: nothing is sent twice
  await new Promise((r) => setTimeout(r, 1500));

  const byRecipient = new Map<string, number>();
  for (const m of sink.messages) for (const to of m.to) byRecipient.set(to, (byRecipient.get(to) ?? 0) + 1);
  const duplicates = [...byRecipient.values()].filter((n) => n > 1).length;
  const rows = await db.selectFrom('email_outbox').select(['sent_at']).execute();
  const delivered: number = sink.messages.length;
  const ok = delivered === MAILS && duplicates === 0 && rows.every((r) => r.sent_at !== null);
  reportRow({
    scenario: '11 SMTP down for a while (seconds here)',
    result: ok ? 'pass' : 'fail',
    requests: MAILS,
    successes: delivered,
    fiveXx: 0,
    recoverySeconds,
    note: `${NODES} nodes, ${OUTAGE_MS / 1000} s outage, ${failedAttempts} failed attempts, ${duplicates} duplicates`,
  });
  assert.equal(sink.messages.length, MAILS, 'every message arrives');
  assert.equal(duplicates, 0, 'no message arrives twice');
  for (const u of users) assert.equal(byRecipient.get(u.email), 1, `one mail for ${u.email}`);
  assert.ok(rows.every((r) => r.sent_at !== null), 'every outbox row is marked sent');
  for (const n of nodes) assert.equal((await fetch(`${n.issuer}/healthz`)).status, 200);
});
