// Named statements (src/db/prepared.ts): each statement with parameters is parsed and planned once per connection,
// a table changed under a prepared plan (a migration run by another node) does not break the statement, and
// without the switch nothing is prepared.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { createDb } from '../../src/db/database.ts';
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { createTestDatabase } from '../helpers/db.ts';

const prepared = async (db: ReturnType<typeof createDb>) =>
  (await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(db)).rows.map((r) => r.statement);

test('statements-are-prepared-once-per-connection: a statement with values is named and reused', async (t) => {
  const db = createDb(await createTestDatabase(t), { max: 1, preparedStatements: true });
  t.after(() => db.destroy());
  for (let i = 0; i < 3; i++) {
    const row = await db.selectFrom('users').select('id').where('email_normalized', '=', `nobody-${i}@example.com`).executeTakeFirst();
    assert.equal(row, undefined);
  }
  const named = (await prepared(db)).filter((s) => s.includes('"email_normalized"'));
  assert.equal(named.length, 1, 'one prepared statement for three runs');
});

test('prepared-statement-survives-a-column-change: a column added under a prepared plan still answers, with the new column', async (t) => {
  const db = createDb(await createTestDatabase(t), { max: 1, preparedStatements: true });
  t.after(() => db.destroy());
  await sql`CREATE TABLE plan_probe (id int PRIMARY KEY)`.execute(db);
  await sql`INSERT INTO plan_probe VALUES (1)`.execute(db);
  const read = () => sql<Record<string, unknown>>`SELECT * FROM plan_probe WHERE id = ${1}`.execute(db);
  assert.deepEqual((await read()).rows, [{ id: 1 }]);
  // what a newer node's migration does while this one keeps its connection
  await sql`ALTER TABLE plan_probe ADD COLUMN note text DEFAULT 'x'`.execute(db);
  assert.deepEqual((await read()).rows, [{ id: 1, note: 'x' }]);
  assert.deepEqual((await read()).rows, [{ id: 1, note: 'x' }], 'and again, unnamed on this connection from now on');
});

test('without-the-switch-nothing-is-prepared', async (t) => {
  const db = createDb(await createTestDatabase(t), { max: 1 });
  t.after(() => db.destroy());
  await db.selectFrom('users').select('id').where('email_normalized', '=', 'nobody@example.com').executeTakeFirst();
  assert.deepEqual(await prepared(db), []);
});

test('prepared-statement-stale-in-a-transaction-is-retryable: the transaction fails as unavailable (503), the next run works', async (t) => {
  const db = createDb(await createTestDatabase(t), { max: 1, preparedStatements: true });
  t.after(() => db.destroy());
  await sql`CREATE TABLE plan_probe (id int PRIMARY KEY)`.execute(db);
  await sql`INSERT INTO plan_probe VALUES (1)`.execute(db);
  const read = (q: typeof db) => sql<Record<string, unknown>>`SELECT * FROM plan_probe WHERE id = ${1}`.execute(q);
  assert.deepEqual((await read(db)).rows, [{ id: 1 }]);
  await sql`ALTER TABLE plan_probe ADD COLUMN note text DEFAULT 'x'`.execute(db);
  const failed = await db.transaction().execute((trx) => read(trx)).then(() => null, (err: unknown) => err);
  assert.ok(failed, 'the transaction with the stale plan fails');
  assert.equal(isDatabaseUnavailable(failed), true, 'as a retryable outage, not a bug');
  assert.deepEqual(await db.transaction().execute(async (trx) => (await read(trx)).rows), [{ id: 1, note: 'x' }], 'the retry succeeds');
});
