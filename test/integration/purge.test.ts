// The purge job: dead rows go (expired provider rows, sign-ins in progress, counters, delivered mail, finished
// back-channel logout calls), live rows stay, and one run deletes at most batchSize × maxBatches rows per table.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { sql } from 'kysely';
import { createDb } from '../../src/db/database.ts';
import { createPurger } from '../../src/domain/maintenance/purge.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { fixedClock } from '../helpers/totp.ts';

const db = createDb(await createTestDatabase({ after }), { max: 4 });
after(() => db.destroy());
const clock = fixedClock();

/** `n` provider rows expiring `offsetSeconds` from the clock's now (negative: already expired) */
async function payloads(n: number, offsetSeconds: number, tag: string) {
  const at = new Date(clock.now().getTime() + offsetSeconds * 1000);
  await db
    .insertInto('oidc_payloads')
    .values(Array.from({ length: n }, () => ({ model: 'AccessToken', id: `${tag}-${randomUUID()}`, payload: '{}', expires_at: at })))
    .execute();
}
const count = async (table: 'oidc_payloads' | 'throttles' | 'email_outbox' | 'authn_transactions', like?: string) => {
  let q = db.selectFrom(table).select(sql<number>`count(*)::int`.as('n'));
  if (like && table === 'oidc_payloads') q = q.where('id', 'like', `${like}%`);
  return (await q.executeTakeFirstOrThrow()).n;
};

test('purge-deletes-only-expired-rows: expired provider rows, old counters, old delivered mail and expired sign-ins go; the rest stays', async () => {
  await payloads(4, -60, 'dead');
  await payloads(3, 3600, 'live');
  await db.insertInto('oidc_payloads').values({ model: 'Session', id: `forever-${randomUUID()}`, payload: '{}', expires_at: null }).execute();
  const now = clock.now();
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  await db
    .insertInto('throttles')
    .values([
      { key: 'old-unlocked', failures: 3, locked_until: null, updated_at: ago(2 * 86400) },
      { key: 'old-still-locked', failures: 9, locked_until: new Date(now.getTime() + 600_000), updated_at: ago(2 * 86400) },
      { key: 'recent', failures: 1, locked_until: null, updated_at: ago(60) },
    ])
    .execute();
  const mail = { to_address: 'a@example.com', subject: 's', text_body: 't', html_body: 'h' };
  await db
    .insertInto('email_outbox')
    .values([
      { ...mail, sent_at: ago(3 * 86400) },
      { ...mail, sent_at: ago(60) },
      { ...mail, sent_at: null, next_attempt_at: ago(3 * 86400) },
    ])
    .execute();
  const user = await db.insertInto('users').values({ email: 'p@example.com', email_normalized: 'p@example.com', name: 'P' }).returning('id').executeTakeFirstOrThrow();
  const authn = (uid: string, expires: Date) => ({ uid, user_id: user.id, password_at: ago(600), state: 'second_factor' as const, expires_at: expires, epoch: 0 });
  await db.insertInto('authn_transactions').values([authn('expired', ago(1)), authn('live', new Date(now.getTime() + 600_000))]).execute();

  const deleted = await createPurger({ db, clock }).purgeOnce();

  assert.equal(deleted.oidc_payloads, 4);
  assert.equal(await count('oidc_payloads', 'dead'), 0);
  assert.equal(await count('oidc_payloads', 'live'), 3);
  assert.equal(await count('oidc_payloads', 'forever'), 1, 'rows without expiry stay');
  const keys = (await db.selectFrom('throttles').select('key').orderBy('key').execute()).map((r) => r.key);
  assert.deepEqual(keys, ['old-still-locked', 'recent'], 'a counter goes only when old and not locking');
  const outbox = await db.selectFrom('email_outbox').select('sent_at').execute();
  assert.equal(outbox.length, 2, 'recently delivered and undelivered mail stay');
  assert.ok(outbox.every((r) => r.sent_at === null || r.sent_at.getTime() > ago(3600).getTime()));
  assert.deepEqual((await db.selectFrom('authn_transactions').select('uid').execute()).map((r) => r.uid), ['live']);
});

test('purge-is-bounded: one run deletes at most batchSize × maxBatches rows per table; the next runs finish the backlog', async () => {
  await db.deleteFrom('oidc_payloads').execute();
  await payloads(10, -60, 'backlog');
  await payloads(2, 3600, 'live');
  const purger = createPurger({ db, clock, limits: { batchSize: 3, maxBatches: 2 } });
  assert.equal((await purger.purgeOnce()).oidc_payloads, 6);
  assert.equal(await count('oidc_payloads', 'backlog'), 4);
  assert.equal((await purger.purgeOnce()).oidc_payloads, 4);
  assert.equal((await purger.purgeOnce()).oidc_payloads, 0);
  assert.equal(await count('oidc_payloads', 'live'), 2);
});

test('purge-on-two-nodes-splits-the-work: concurrent runs delete every expired row once, without waiting on each other', async () => {
  await db.deleteFrom('oidc_payloads').execute();
  await payloads(40, -60, 'shared');
  const limits = { batchSize: 5, maxBatches: 10 };
  const [a, b] = await Promise.all([createPurger({ db, clock, limits }).purgeOnce(), createPurger({ db, clock, limits }).purgeOnce()]);
  assert.equal(a.oidc_payloads! + b.oidc_payloads!, 40);
  assert.equal(await count('oidc_payloads', 'shared'), 0);
});

test('purge-deletes-finished-backchannel-calls-after-retention: delivered over a day ago and given up over a week ago go; due and recent calls stay', async () => {
  const now = clock.now();
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  const call = (tag: string, fields: { delivered_at?: Date; gave_up_at?: Date; created_at?: Date }) => ({ client_id: 'rp', account_id: 'acct', sid: tag, next_attempt_at: ago(30 * 86400), ...fields });
  await db
    .insertInto('backchannel_deliveries')
    .values([
      call('delivered-old', { delivered_at: ago(2 * 86400) }),
      call('delivered-recent', { delivered_at: ago(3600) }),
      call('gave-up-old', { gave_up_at: ago(8 * 86400) }),
      call('gave-up-recent', { gave_up_at: ago(2 * 86400) }),
      // never delivered yet and created a month ago: still due, a retry may succeed
      call('still-due', { created_at: ago(30 * 86400) }),
    ])
    .execute();

  const deleted = await createPurger({ db, clock }).purgeOnce();

  assert.equal(deleted.backchannel_deliveries, 2);
  const left = (await db.selectFrom('backchannel_deliveries').select('sid').orderBy('sid').execute()).map((r) => r.sid);
  assert.deepEqual(left, ['delivered-recent', 'gave-up-recent', 'still-due']);
});
