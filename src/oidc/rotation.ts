// A refresh token's rotation, committed at the end of the provider request that redeemed it (request-scope.ts).
import { sql, type Kysely, type QueryCreator } from 'kysely';
import type { Database } from '../db/database.ts';
import { compiledOnce } from '../db/compiled.ts';
import { onPayloadConflict, PAYLOAD_COLUMNS, rowExpressions, type PayloadRow } from './payload-rows.ts';

/**
 * A refresh token's rotation as ONE statement: the conditional consume of the old token and the rows issued with it
 * (the new refresh token, the access token) in data-modifying CTEs, each insert guarded by the consume having won.
 * One statement is one transaction: all of it commits or none, and of two concurrent rotations of one token the
 * second finds it consumed (its UPDATE re-checks the row after the first commits) and writes nothing.
 * The statement still runs inside an explicit BEGIN … COMMIT: an autocommit statement that waits on a lock commits by
 * itself once the lock goes, even when the node that sent it has died meanwhile, and the client's retry then finds
 * its token spent (test/faults scenario 9, kill -9 at the commit). With an explicit COMMIT only a live node commits.
 * Returns whether this request won the consume.
 */
export async function commitRotation(db: Kysely<Database>, storedRefreshTokenId: string, rows: PayloadRow[]): Promise<boolean> {
  return db.transaction().execute((trx) => rotateIn(trx, storedRefreshTokenId, rows));
}

/** the rotation's statement, built once per shape: how many rows it inserts, and whether each names its epoch */
const rotation = compiledOnce((db: Kysely<Database>, shape: string, storedRefreshTokenId: string, ...binds: unknown[]) => {
  let q = db.with('consumed', (qb) =>
    qb.updateTable('oidc_payloads').set({ consumed_at: sql`now()` }).where('model', '=', 'RefreshToken').where('id', '=', storedRefreshTokenId).where('consumed_at', 'is', null).returning('id'),
  ) as unknown as QueryCreator<Database & { consumed: { id: string } }>;
  shape.split(',').forEach((explicit, i) => {
    const row = binds.slice(i * PAYLOAD_COLUMNS.length, (i + 1) * PAYLOAD_COLUMNS.length);
    q = q.with(`w${i}`, (qb) =>
      qb
        .insertInto('oidc_payloads')
        .columns([...PAYLOAD_COLUMNS])
        .expression(sql`SELECT ${sql.join(rowExpressions(row))} WHERE EXISTS (SELECT 1 FROM consumed)`)
        .onConflict(onPayloadConflict(explicit === '1')),
    ) as unknown as typeof q;
  });
  return q.selectFrom('consumed').select('id');
});

async function rotateIn(db: Kysely<Database>, storedRefreshTokenId: string, rows: PayloadRow[]): Promise<boolean> {
  const shape = rows.map((r) => (r.explicitEpoch ? '1' : '0')).join(',');
  const { rows: won } = await rotation(db, shape, storedRefreshTokenId, ...rows.flatMap((r) => r.binds));
  return won.length > 0;
}
