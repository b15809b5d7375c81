// A refresh token's rotation, committed at the end of the provider request that redeemed it (request-scope.ts).
import { sql, type Kysely, type QueryCreator } from 'kysely';
import type { Database } from '../db/database.ts';
import { compiledOnce } from '../db/compiled.ts';
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

/** the rotation's statement, built once per shape: how many rows it inserts, and whether each names its epoch */
const rotation = compiledOnce((db: Kysely<Database>, shape: string, storedRefreshTokenId: string, ...values: unknown[]) => {
  let q = db.with('consumed', (qb) =>
    qb.updateTable('oidc_payloads').set({ consumed_at: sql`now()` }).where('model', '=', 'RefreshToken').where('id', '=', storedRefreshTokenId).where('consumed_at', 'is', null).returning('id'),
  ) as unknown as QueryCreator<Database & { consumed: { id: string } }>;
  shape.split(',').forEach((flags, i) => {
    const row = values.slice(i * PAYLOAD_COLUMNS.length, (i + 1) * PAYLOAD_COLUMNS.length);
    // expires_at is bound as its seconds from the database's now(), 0 for never (adapter.ts payloadRow)
    const column = (c: (typeof PAYLOAD_COLUMNS)[number], k: number) =>
      c !== 'expires_at'
        ? sql`CAST(${row[k]} AS ${sql.raw(COLUMN_TYPES[c])})`
        : sql`CASE WHEN CAST(${row[k]} AS double precision) > 0 THEN now() + make_interval(secs => CAST(${row[k]} AS double precision)) END`;
    q = q.with(`w${i}`, (qb) =>
      qb
        .insertInto('oidc_payloads')
        .columns([...PAYLOAD_COLUMNS])
        .expression(sql`SELECT ${sql.join(PAYLOAD_COLUMNS.map(column))} WHERE EXISTS (SELECT 1 FROM consumed)`)
        .onConflict(onPayloadConflict(flags === '1')),
    ) as unknown as typeof q;
  });
  return q.selectFrom('consumed').select('id');
});

async function rotateIn(db: Kysely<Database>, storedRefreshTokenId: string, rows: PayloadRow[]): Promise<boolean> {
  const shape = rows.map((r) => (r.explicitEpoch ? '1' : '0')).join(',');
  const values = rows.flatMap((row) => PAYLOAD_COLUMNS.map((c) => (c === 'expires_at' ? row.expiresIn : (row.values[c] ?? null))));
  const { rows: won } = await rotation(db, shape, storedRefreshTokenId, ...values);
  return won.length > 0;
}
