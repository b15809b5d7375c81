// A refresh token's rotation, committed at the end of the provider request that redeemed it (request-scope.ts).
import { sql, type Kysely, type QueryCreator } from 'kysely';
import type { Database } from '../db/database.ts';
import { onPayloadConflict, PAYLOAD_COLUMNS, type PayloadRow } from './adapter.ts';

/** the types of the columns upsert() writes, for a row selected rather than VALUES-inserted */
const COLUMN_TYPES: Record<(typeof PAYLOAD_COLUMNS)[number], string> = {
  model: 'text', id: 'text', payload: 'jsonb', grant_id: 'text', uid: 'text', user_code: 'text', expires_at: 'timestamptz', account_id: 'uuid', credential_epoch: 'integer',
};

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

async function rotateIn(db: Kysely<Database>, storedRefreshTokenId: string, rows: PayloadRow[]): Promise<boolean> {
  let q = db.with('consumed', (qb) =>
    qb.updateTable('oidc_payloads').set({ consumed_at: sql`now()` }).where('model', '=', 'RefreshToken').where('id', '=', storedRefreshTokenId).where('consumed_at', 'is', null).returning('id'),
  ) as unknown as QueryCreator<Database & { consumed: { id: string } }>;
  rows.forEach((row, i) => {
    q = q.with(`w${i}`, (qb) =>
      qb
        .insertInto('oidc_payloads')
        .columns([...PAYLOAD_COLUMNS])
        .expression(
          sql`SELECT ${sql.join(PAYLOAD_COLUMNS.map((c) => sql`CAST(${row.values[c] ?? null} AS ${sql.raw(COLUMN_TYPES[c])})`))} WHERE EXISTS (SELECT 1 FROM consumed)`,
        )
        .onConflict(onPayloadConflict(row.explicitEpoch)),
    ) as unknown as typeof q;
  });
  const won = await q.selectFrom('consumed').select('id').executeTakeFirst();
  return won !== undefined;
}
