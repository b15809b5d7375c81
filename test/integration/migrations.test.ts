import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { createDb } from '../../src/db/database.ts';
import { migrateDown, migrateToLatest, migrationsCurrent } from '../../src/db/migrate.ts';
import { recordAudit } from '../../src/domain/audit/audit.service.ts';
import { createTestDatabase, type TestContext } from '../helpers/db.ts';

const APP_TABLES = [
  'audit_events', 'authn_transactions', 'backchannel_deliveries', 'challenge_sessions', 'email_outbox', 'email_tokens', 'federated_sign_ins', 'federation_pending_links',
  'federation_requests', 'oidc_clients', 'oidc_payloads', 'personal_tokens', 'recovery_codes', 'server_starts', 'signing_keys', 'tenant_members', 'tenants',
  'throttles', 'totp_credentials', 'upstream_links', 'upstream_providers', 'users', 'webauthn_challenges', 'webauthn_credentials',
];

async function openDb(t: TestContext, opts: { empty?: boolean } = {}) {
  const db = createDb(await createTestDatabase(t, opts), { max: 2 });
  t.after(() => db.destroy());
  return db;
}

async function appTables(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%' ORDER BY table_name`.execute(db);
  return rows.map((r) => r.table_name);
}

async function appliedMigrations(db: Kysely<any>): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM kysely_migration`.execute(db);
  return rows[0]!.n;
}

test('up to latest, down all the way, up again', async (t) => {
  const db = await openDb(t, { empty: true });
  assert.deepEqual(await appTables(db), []);
  assert.equal(await migrationsCurrent(db), false);

  const up = await migrateToLatest(db);
  assert.ok(up.results!.length > 0);
  assert.ok(up.results!.every((r) => r.direction === 'Up' && r.status === 'Success'));
  assert.deepEqual(await appTables(db), APP_TABLES);
  assert.equal(await migrationsCurrent(db), true);
  assert.deepEqual((await migrateToLatest(db)).results, [], 'nothing left to apply');

  let steps = 0;
  for (;;) {
    const down = await migrateDown(db);
    if (!down.results!.length) break;
    assert.ok(down.results!.every((r) => r.direction === 'Down' && r.status === 'Success'));
    assert.ok(++steps <= up.results!.length, 'migrateDown stops once everything is reverted');
  }
  assert.equal(steps, up.results!.length);
  assert.deepEqual(await appTables(db), []);
  const { rows } = await sql`SELECT 1 FROM pg_proc WHERE proname = 'audit_events_append_only'`.execute(db);
  assert.equal(rows.length, 0, 'the trigger function is dropped too');
  assert.equal(await migrationsCurrent(db), false);

  const again = await migrateToLatest(db);
  assert.equal(again.results!.length, up.results!.length);
  assert.ok(again.results!.every((r) => r.status === 'Success'));
  assert.deepEqual(await appTables(db), APP_TABLES);
  assert.equal(await migrationsCurrent(db), true);
});

test('two concurrent migrateToLatest on an empty database both succeed; the schema is applied once', async (t) => {
  const url = await createTestDatabase(t, { empty: true });
  const [a, b] = [createDb(url, { max: 1 }), createDb(url, { max: 1 })];
  t.after(() => Promise.all([a.destroy(), b.destroy()]).then(() => {}));
  const results = await Promise.all([migrateToLatest(a), migrateToLatest(b)]);
  const applied = results.flatMap((r) => r.results ?? []);
  assert.ok(applied.every((r) => r.status === 'Success'));
  assert.equal(applied.length, await appliedMigrations(a), 'each migration ran in exactly one of the two');
  assert.ok(results.some((r) => r.results!.length === 0), 'the second runner found nothing to do');
  assert.deepEqual(await appTables(a), APP_TABLES);
  assert.equal(await migrationsCurrent(b), true);
});

test('audit_events is append-only: UPDATE and DELETE are rejected', async (t) => {
  const db = await openDb(t);
  await recordAudit(db, { event: 'user.created', data: { n: 1 } });
  await assert.rejects(sql`UPDATE audit_events SET event = 'logout'`.execute(db), /append-only/);
  await assert.rejects(sql`DELETE FROM audit_events`.execute(db), /append-only/);
  const rows = await db.selectFrom('audit_events').select(['event', 'data']).execute();
  assert.deepEqual(rows, [{ event: 'user.created', data: { n: 1 } }]);
});

/**
 * Whether PostgreSQL's own timers fire here (lock_timeout, deadlock_timeout, statement_timeout). Under libfaketime
 * (`faketime -f '+365d' npm test`) they do not: its timer wrappers assume a real-time clock, and no timeout ever ends
 * a wait, so a test that needs one would hang instead of testing anything.
 */
async function postgresTimersFire(db: Kysely<any>): Promise<boolean> {
  try {
    await db.transaction().execute(async (trx) => {
      await sql`SET LOCAL statement_timeout = '20ms'`.execute(trx);
      await sql`SELECT pg_sleep(0.5)`.execute(trx);
    });
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === '57014') return true; // canceled by the timeout
    throw err;
  }
}

test('migration-gives-way-to-serving-statements: a serving transaction and a run that alters two of its tables do not end in a deadlock', async (t) => {
  const db = await openDb(t);
  // the run gives way by PostgreSQL's lock_timeout: where its timers never fire (libfaketime), there is nothing to test
  if (!(await postgresTimersFire(db))) return t.skip("PostgreSQL's timers do not fire here (libfaketime): lock_timeout cannot end a wait");
  // back to before the migrations that alter users (a column) and then oidc_payloads (a column, an index)
  for (let i = 0; i < 4; i++) await migrateDown(db);
  const serving = db.connection().execute(async (conn) => {
    await sql`BEGIN`.execute(conn);
    await sql`SELECT 1 FROM oidc_payloads LIMIT 1`.execute(conn);
    await new Promise((r) => setTimeout(r, 150)); // the run has altered users and waits for oidc_payloads
    await sql`SELECT 1 FROM users LIMIT 1`.execute(conn);
    await sql`COMMIT`.execute(conn);
  });
  await new Promise((r) => setTimeout(r, 50));
  await migrateToLatest(db); // without giving way: "deadlock detected" for one of the two
  await serving;
  assert.equal(await migrationsCurrent(db), true);
});
