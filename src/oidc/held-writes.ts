// The writes a provider request held to its end (request-scope.ts holdWrite), sent as ONE statement: each row's upsert
// or delete a data-modifying CTE. One statement is one transaction, so all of them commit or none. A sign-in's return
// (the interaction destroyed; the grant, the code and the session saved) is then one round trip and one commit instead
// of four, and a fault leaves the interaction in place for the browser's retry rather than half a sign-in.
// Rows are distinct (one write per row, the last one: request-scope.ts), so no two CTEs touch the same row.
import { sql, type Kysely, type QueryCreator } from 'kysely';
import type { Database } from '../db/database.ts';
import { compiledOnce } from '../db/compiled.ts';
import { PAYLOAD_COLUMNS, upsertRowWithin, writePayload, type PayloadRow } from './payload-rows.ts';
import type { HeldWrite } from './request-scope.ts';

/** one statement per shape: per write, "u1"/"u0" (an upsert, naming its epoch or not) or "d" (a delete) */
const heldStatement = compiledOnce((db: Kysely<Database>, shape: string, ...binds: unknown[]) => {
  let q = db as unknown as QueryCreator<Database>;
  let at = 0;
  shape.split(',').forEach((kind, i) => {
    if (kind === 'd') {
      const [model, id] = binds.slice(at, (at += 2));
      q = q.with(`w${i}`, (qb) => qb.deleteFrom('oidc_payloads').where('model', '=', model as string).where('id', '=', id as string)) as unknown as typeof q;
      return;
    }
    const row = binds.slice(at, (at += PAYLOAD_COLUMNS.length));
    q = q.with(`w${i}`, (qb) => upsertRowWithin(qb, row, kind === 'u1')) as unknown as typeof q;
  });
  return q.selectNoFrom(sql.lit(1).as('done'));
});

/**
 * Once more after a deadlock or a serialization failure: the statement locks several rows (a grant, a session), which a
 * bulk delete elsewhere (a credential change, a revoked app) may take in another order; PostgreSQL then aborts one of
 * them, and this one, rolled back whole, can simply run again.
 */
export async function flushHeldWrites(db: Kysely<Database>, writes: HeldWrite[]): Promise<void> {
  try {
    await flushOnce(db, writes);
  } catch (err) {
    if (!['40P01', '40001'].includes((err as { code?: string }).code ?? '')) throw err;
    await flushOnce(db, writes);
  }
}

async function flushOnce(db: Kysely<Database>, writes: HeldWrite[]): Promise<void> {
  const rows = writes.map((w) => w.row as PayloadRow | undefined);
  // one write alone goes as its own statement: no CTE around it
  if (writes.length === 1) {
    const [w] = writes;
    if (rows[0]) return writePayload(db, rows[0]);
    await db.deleteFrom('oidc_payloads').where('model', '=', w!.model).where('id', '=', w!.id).execute();
    return;
  }
  const shape = rows.map((r) => (r ? (r.explicitEpoch ? 'u1' : 'u0') : 'd')).join(',');
  await heldStatement(db, shape, ...writes.flatMap((w, i) => rows[i]?.binds ?? [w.model, w.id]));
}
