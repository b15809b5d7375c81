// The purge job: rows that can no longer be used are deleted, so that tables stay the size of what is live.
// Every node runs it (no leader): each batch takes its rows with FOR UPDATE SKIP LOCKED, so two nodes purging at
// once split the work instead of waiting on each other, and every run is bounded (batch size × batches per table),
// so a backlog is worked off over several runs, never in one long statement that holds locks.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../db/database.ts';
import { sqlNow, type Clock } from '../clock.ts';

export interface PurgeLimits {
  /** rows per DELETE */
  batchSize: number;
  /** DELETEs per table per run */
  maxBatches: number;
}

export const DEFAULT_PURGE_LIMITS: PurgeLimits = { batchSize: 1000, maxBatches: 20 };

/** how long a delivered mail stays in the outbox (to look at recent deliveries), and a guess counter after its last use */
const SENT_MAIL_RETENTION = '1 day';
/** the longest decay of the throttle policies (throttle.service.ts PER_ACCOUNT): an older counter would start again at zero */
const THROTTLE_RETENTION = '24 hours';
/** a back-channel logout call kept after it was delivered (to see recent deliveries), and after it was given up (longer:
 * an operator looks into why a relying app was never told; the audit log keeps both events in any case) */
const BACKCHANNEL_DELIVERED_RETENTION = '1 day';
const BACKCHANNEL_GAVE_UP_RETENTION = '7 days';

/** per table: the condition that makes a row dead */
function deadRows(now: RawBuilder<Date>): Record<string, RawBuilder<boolean>> {
  return {
    // expired provider rows (find() already ignores them); a consumed one-time value stays until it expires,
    // since its row is what recognises a replay
    oidc_payloads: sql`expires_at < ${now}`,
    authn_transactions: sql`expires_at < ${now}`,
    webauthn_challenges: sql`expires_at < ${now}`,
    federation_requests: sql`expires_at < ${now}`,
    federation_pending_links: sql`expires_at < ${now}`,
    challenge_sessions: sql`expires_at < ${now}`,
    throttles: sql`updated_at < ${now} - interval '${sql.raw(THROTTLE_RETENTION)}' AND (locked_until IS NULL OR locked_until < ${now})`,
    email_outbox: sql`sent_at IS NOT NULL AND sent_at < ${now} - interval '${sql.raw(SENT_MAIL_RETENTION)}'`,
    // a call still due (neither delivered nor given up) is never dead, however old
    backchannel_deliveries: sql`(delivered_at < ${now} - interval '${sql.raw(BACKCHANNEL_DELIVERED_RETENTION)}'
      OR gave_up_at < ${now} - interval '${sql.raw(BACKCHANNEL_GAVE_UP_RETENTION)}')`,
  };
}

export const PURGED_TABLES = Object.keys(deadRows(sql`now()`));

export function createPurger(deps: { db: Kysely<Database>; clock: Clock; limits?: PurgeLimits }) {
  const { db, clock } = deps;
  const limits = deps.limits ?? DEFAULT_PURGE_LIMITS;

  /** one bounded pass over every table; returns the rows deleted per table */
  async function purgeOnce(): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    for (const [table, dead] of Object.entries(deadRows(sqlNow(clock)))) {
      deleted[table] = 0;
      for (let i = 0; i < limits.maxBatches; i++) {
        const r = await sql`DELETE FROM ${sql.table(table)} WHERE ctid IN (
            SELECT ctid FROM ${sql.table(table)} WHERE ${dead} LIMIT ${limits.batchSize} FOR UPDATE SKIP LOCKED)`.execute(db);
        const n = Number(r.numAffectedRows ?? 0);
        deleted[table] += n;
        if (n < limits.batchSize) break;
      }
    }
    return deleted;
  }

  return { purgeOnce };
}

export type Purger = ReturnType<typeof createPurger>;
