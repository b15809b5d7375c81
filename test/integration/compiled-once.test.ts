// Statements compiled once per shape (src/db/compiled.ts): each run binds its own values into the same text, a new
// shape is built anew, and a value that would not become a parameter is refused at the first compile.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { sql } from 'kysely';
import { compiledOnce } from '../../src/db/compiled.ts';
import { createDb } from '../../src/db/database.ts';
import { createTestDatabase } from '../helpers/db.ts';

const db = createDb(await createTestDatabase({ after }), { max: 2 });
after(() => db.destroy());

test('compiled-once-binds-each-runs-values: one build per shape, every run answers with its own values', async () => {
  let builds = 0;
  const echo = compiledOnce((b: typeof db, shape: 'plain' | 'doubled', n: number, word: string | null) => {
    builds++;
    const value = shape === 'doubled' ? sql<number>`CAST(${n} AS integer) * 2` : sql<number>`CAST(${n} AS integer)`;
    return b.selectNoFrom([value.as('n'), sql<string | null>`CAST(${word} AS text)`.as('word'), sql<string>`CAST(${'fixed'} AS text)`.as('fixed')]);
  });
  assert.deepEqual((await echo(db, 'plain', 1, 'one')).rows, [{ n: 1, word: 'one', fixed: 'fixed' }]);
  assert.deepEqual((await echo(db, 'plain', 2, null)).rows, [{ n: 2, word: null, fixed: 'fixed' }], 'the second run binds its values, constants stay');
  assert.deepEqual((await echo(db, 'doubled', 3, 'three')).rows, [{ n: 6, word: 'three', fixed: 'fixed' }]);
  assert.equal(builds, 2, 'built once per shape');
  // inside a transaction too
  assert.deepEqual(await db.transaction().execute(async (trx) => (await echo(trx, 'plain', 4, 'four')).rows), [{ n: 4, word: 'four', fixed: 'fixed' }]);
  assert.equal(builds, 2);
});

test('compiled-once-refuses-a-value-that-is-not-a-parameter: a value written into the text would be frozen into every later run', async () => {
  const frozen = compiledOnce((b: typeof db, _shape: 'x', n: number) => b.selectNoFrom(sql<number>`${sql.raw(String(n))}`.as('n')));
  await assert.rejects(frozen(db, 'x', 1), /1 value\(s\) of shape "x" did not become parameters/);
});
