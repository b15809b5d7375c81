// Back-channel logout calls to relying apps, kept in PostgreSQL until delivered. A logout only writes a row; workers
// on every node send what is due, so a relying app that is down or slow never holds up the user's logout.
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { sqlNow, systemClock, type Clock } from '../clock.ts';
import { isUuid } from '../ids.ts';

export interface BackchannelJob {
  id: string;
  clientId: string;
  accountId: string;
  sid: string | null;
  /** attempts made before this one */
  attempts: number;
}

/** sends one logout token; resolves when the relying app accepted it (200/204), rejects otherwise */
export type BackchannelSend = (job: BackchannelJob) => Promise<void>;

export interface BackchannelQueueDeps {
  db: Db;
  clock?: Clock;
  /** tries per logout call, the first included */
  attempts: number;
  /** wait before the first retry; doubled after each failure */
  backoffMs: number;
  log: { warn(obj: unknown, msg?: string): void };
}

const MAX_BACKOFF_MS = 3_600_000;

export function createBackchannelQueue(deps: BackchannelQueueDeps) {
  const { db, log } = deps;
  const clock = deps.clock ?? systemClock;

  /** the next due delivery, locked for this transaction; SKIP LOCKED: with several nodes each call is made by one */
  async function claim(trx: Db) {
    return trx
      .selectFrom('backchannel_deliveries')
      .select(['id', 'client_id', 'account_id', 'sid', 'attempts'])
      .where('delivered_at', 'is', null)
      .where('gave_up_at', 'is', null)
      .where('next_attempt_at', '<=', sqlNow(clock))
      .orderBy('next_attempt_at')
      .limit(1)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
  }

  /** one due delivery: sent, then marked and audited in the transaction that holds its lock; false when none is due */
  async function deliverOne(send: BackchannelSend): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      const row = await claim(trx);
      if (!row) return false;
      const job: BackchannelJob = { id: row.id, clientId: row.client_id, accountId: row.account_id, sid: row.sid, attempts: row.attempts };
      const attempt = row.attempts + 1;
      const audit = { targetUserId: isUuid(row.account_id) ? row.account_id : null, clientId: row.client_id };
      try {
        await send(job);
        await trx.updateTable('backchannel_deliveries').set({ attempts: attempt, delivered_at: sqlNow(clock), last_error: null }).where('id', '=', row.id).execute();
        await recordAudit(trx, { event: 'backchannel.delivered', ...audit, data: { attempt, sid: row.sid } });
      } catch (err) {
        const error = String((err as Error)?.message ?? err).slice(0, 500);
        // bounded: after the last try the call is given up (and audited) instead of retried for ever
        if (attempt >= deps.attempts) {
          await trx.updateTable('backchannel_deliveries').set({ attempts: attempt, gave_up_at: sqlNow(clock), last_error: error }).where('id', '=', row.id).execute();
          await recordAudit(trx, { event: 'backchannel.gave_up', ...audit, data: { attempt, sid: row.sid, error } });
          log.warn({ clientId: row.client_id, attempts: attempt, error }, 'back-channel logout given up');
        } else {
          const waitMs = Math.min(MAX_BACKOFF_MS, deps.backoffMs * 2 ** (attempt - 1));
          await trx
            .updateTable('backchannel_deliveries')
            .set({ attempts: attempt, last_error: error, next_attempt_at: sql<Date>`${sqlNow(clock)} + make_interval(secs => ${waitMs / 1000})` })
            .where('id', '=', row.id)
            .execute();
          await recordAudit(trx, { event: 'backchannel.failed', ...audit, data: { attempt, sid: row.sid, error, retryInMs: waitMs } });
          log.warn({ clientId: row.client_id, attempts: attempt, retryInMs: waitMs, error }, 'back-channel logout failed; will retry');
        }
      }
      return true;
    });
  }

  /** sends what is due (at most `limit` calls); a failing app does not stop the others */
  async function drain(send: BackchannelSend, limit = 20): Promise<number> {
    let done = 0;
    while (done < limit && (await deliverOne(send))) done++;
    return done;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  return {
    /** called by a logout: one row per relying app to tell; the worker makes the call */
    async enqueue(job: { clientId: string; accountId: string; sid?: string | null }): Promise<void> {
      await db.insertInto('backchannel_deliveries').values({ client_id: job.clientId, account_id: job.accountId, sid: job.sid ?? null, next_attempt_at: sqlNow(clock) }).execute();
    },
    drain,
    start(send: BackchannelSend, intervalMs: number) {
      // rounds never overlap on one node: the next waits for the previous (a slow app can take the call's whole timeout)
      timer = setInterval(() => {
        running = running.then(() => drain(send)).catch((err) => log.warn({ err }, 'back-channel logout worker error'));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

export type BackchannelQueue = ReturnType<typeof createBackchannelQueue>;
