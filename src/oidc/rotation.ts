// A redeemed token's consume and what its redemption issued, committed at the end of the provider request that redeemed
// it (request-scope.ts): a refresh token's rotation, and an authorization code's exchange.
import { sql, type Kysely, type QueryCreator } from 'kysely';
import type { Database } from '../db/database.ts';
import { compiledOnce } from '../db/compiled.ts';
import { PAYLOAD_COLUMNS, upsertRowWithin, type PayloadRow } from './payload-rows.ts';

/** the models whose consume waits for the end of the request, to commit with what the redemption issued */
export const DEFERRED_CONSUME = new Set(['RefreshToken', 'AuthorizationCode']);

/**
 * A redemption as ONE statement: the conditional consume of the redeemed token (`model`) and the rows issued with it
 * (a new refresh token, the access token) in data-modifying CTEs, each insert guarded by the consume having won.
 * One statement is one transaction: all of it commits or none, and of two concurrent redemptions of one token the
 * second finds it consumed (its UPDATE re-checks the row after the first commits) and writes nothing.
 * A refresh token's rotation still runs inside an explicit BEGIN … COMMIT: an autocommit statement that waits on a
 * lock commits by itself once the lock goes, even when the node that sent it has died meanwhile, and the client's
 * retry then finds its token spent (test/faults scenario 9, kill -9 at the commit). With an explicit COMMIT only a live
 * node commits. An authorization code's exchange runs as the statement alone: a code is redeemed once, right after
 * the sign-in, and a client whose node died mid-exchange starts a new sign-in either way (before, the code's consume
 * committed on its own ahead of the token inserts), so the two round trips of a transaction buy it nothing.
 * Returns whether this request won the consume.
 */
export async function commitRedemption(db: Kysely<Database>, model: string, storedId: string, rows: PayloadRow[]): Promise<boolean> {
  if (model !== 'RefreshToken') return redeemIn(db, model, storedId, rows);
  return db.transaction().execute((trx) => redeemIn(trx, model, storedId, rows));
}

/** the redemption's statement, built once per shape: how many rows it inserts, and whether each names its epoch */
const redemption = compiledOnce((db: Kysely<Database>, shape: string, model: string, storedId: string, ...binds: unknown[]) => {
  let q = db.with('consumed', (qb) =>
    qb.updateTable('oidc_payloads').set({ consumed_at: sql`now()` }).where('model', '=', model).where('id', '=', storedId).where('consumed_at', 'is', null).returning('id'),
  ) as unknown as QueryCreator<Database & { consumed: { id: string } }>;
  // no rows: an exchange that issued nothing to store (a JWT access token alone)
  (shape ? shape.split(',') : []).forEach((explicit, i) => {
    const row = binds.slice(i * PAYLOAD_COLUMNS.length, (i + 1) * PAYLOAD_COLUMNS.length);
    q = q.with(`w${i}`, (qb) => upsertRowWithin(qb as unknown as QueryCreator<Database>, row, explicit === '1', sql<boolean>`EXISTS (SELECT 1 FROM consumed)`)) as unknown as typeof q;
  });
  return q.selectFrom('consumed').select('id');
});

async function redeemIn(db: Kysely<Database>, model: string, storedId: string, rows: PayloadRow[]): Promise<boolean> {
  const shape = rows.map((r) => (r.explicitEpoch ? '1' : '0')).join(',');
  const { rows: won } = await redemption(db, shape, model, storedId, ...rows.flatMap((r) => r.binds));
  return won.length > 0;
}
