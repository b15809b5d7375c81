// Guess counters in PostgreSQL, shared by every node, interaction and endpoint. The counter is incremented, and the
// lock that would follow a failure is set, in the same statement that admits the attempt: concurrent guesses can
// never get past the cap (decision D5: delays, no permanent lockout).
import { sql, type Kysely, type QueryCreator, type RawBuilder } from 'kysely';
import type { AuditWithin } from '../audit/audit.service.ts';
import type { Database } from '../../db/database.ts';
import { sqlNow, systemClock, type Clock } from '../clock.ts';

export interface ThrottlePolicy {
  free: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  /** a counter untouched this long starts again from zero */
  decaySeconds: number;
}

/** second factors and passwords per account: 5 free attempts, then 30 s doubling up to 15 min */
export const PER_ACCOUNT: ThrottlePolicy = { free: 5, baseDelaySeconds: 30, maxDelaySeconds: 15 * 60, decaySeconds: 24 * 3600 };
/** passwords per client IP, across accounts (credential stuffing): 50 free, then 1 min doubling up to 1 h */
export const PER_IP: ThrottlePolicy = { free: 50, baseDelaySeconds: 60, maxDelaySeconds: 3600, decaySeconds: 3600 };

/** an audit row that commits with a counter's write, as a data-modifying CTE (audit.service.ts auditWithin) */
type AlsoWrite = AuditWithin;

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export function createThrottleService(db: Kysely<Database>, clock: Clock = systemClock) {
  /** the admitting upsert of one attempt: returns the key when admitted, no row when locked */
  function admit(key: string, policy: ThrottlePolicy) {
    const now = sqlNow(clock);
    const lockAfter = (failures: ReturnType<typeof sql>) =>
      sql`CASE WHEN ${failures} >= ${policy.free}
        THEN ${now} + make_interval(secs => least(${policy.baseDelaySeconds} * power(2, ${failures} - ${policy.free}), ${policy.maxDelaySeconds}))
        ELSE NULL END`;
    const next = sql<number>`CASE WHEN throttles.updated_at < ${now} - make_interval(secs => ${policy.decaySeconds}) THEN 1 ELSE throttles.failures + 1 END`;
    return db
      .insertInto('throttles')
      .values({ key, failures: 1, locked_until: sql`${lockAfter(sql`1`)}`, updated_at: now })
      .onConflict((oc) =>
        oc
          .column('key')
          .doUpdateSet({
            failures: next,
            locked_until: sql`${lockAfter(next)}`,
            updated_at: now,
          })
          .where((eb) => eb.or([eb('throttles.locked_until', 'is', null), eb('throttles.locked_until', '<=', now)])),
      )
      .returning('key');
  }

  async function refused(key: string): Promise<ThrottleDecision> {
    const row = await db.selectFrom('throttles').select(sql<number>`ceil(extract(epoch from locked_until - ${sqlNow(clock)}))`.as('wait')).where('key', '=', key).executeTakeFirst();
    return { allowed: false, retryAfterSeconds: Math.max(1, Number(row?.wait ?? 1)) };
  }

  function refundSet(policy: ThrottlePolicy) {
    return {
      failures: sql<number>`greatest(failures - 1, 0)`,
      locked_until: sql<Date | null>`CASE WHEN failures - 1 < ${policy.free} THEN NULL ELSE locked_until END`,
    };
  }

  return {
    /** admits one attempt or refuses it; call success() when the attempt turned out right */
    async attempt(key: string, policy: ThrottlePolicy = PER_ACCOUNT): Promise<ThrottleDecision> {
      const admitted = await admit(key, policy).executeTakeFirst();
      return admitted ? { allowed: true } : refused(key);
    },

    /**
     * One attempt counted on several counters (a password guess: per account and per IP) in one statement, each
     * counter admitting or refusing on its own as attempt() would; the decisions in the order of `counters`, whose
     * rows are also locked in that order (successAndRefund() takes them in the same order: the cleared one first).
     */
    async attemptEach(counters: { key: string; policy: ThrottlePolicy }[]): Promise<ThrottleDecision[]> {
      if (counters.length < 2) return Promise.all(counters.map((c) => this.attempt(c.key, c.policy)));
      const ctes = counters.map((c, i) => sql`${sql.ref(`a${i}`)} AS (${admit(c.key, c.policy)})`);
      const selects = counters.map((_c, i) => sql`SELECT key FROM ${sql.ref(`a${i}`)}`);
      const r = await sql<{ key: string }>`WITH ${sql.join(ctes)} ${sql.join(selects, sql` UNION ALL `)}`.execute(db);
      const admitted = new Set(r.rows.map((row) => row.key));
      return Promise.all(counters.map((c) => (admitted.has(c.key) ? { allowed: true as const } : refused(c.key))));
    },

    /** `also`: a write that commits with the clear, in its statement (a right password's audit row) */
    async success(key: string, also?: AlsoWrite): Promise<void> {
      if (!also) return void (await db.deleteFrom('throttles').where('key', '=', key).execute());
      await db.with('also', also).deleteFrom('throttles').where('key', '=', key).execute();
    },

    /**
     * success() as part of another statement (a data-modifying CTE), when `happened` holds there: the attempt's
     * own proof (the code's step spent, totp.service.ts) and the clear then commit together, in one round trip
     */
    successWithin(key: string) {
      return (qb: QueryCreator<Database>, happened: RawBuilder<boolean>) => qb.deleteFrom('throttles').where('key', '=', key).where(happened);
    },

    /** an attempt that turned out right gives its count back (shared keys such as an IP: others' failures stay) */
    async refund(key: string, policy: ThrottlePolicy): Promise<void> {
      await db.updateTable('throttles').set(refundSet(policy)).where('key', '=', key).execute();
    },

    /**
     * success() of one counter and refund() of another, in one statement. Why the main statement reads the CTE: an
     * unread data-modifying CTE runs after the main statement, so the refund would lock its row before the clear,
     * the opposite of attemptEach() (its counters in the order given: the account's, then the IP's); a right password
     * and a wrong one at the same moment would then deadlock. Read first, the clear always locks first.
     */
    async successAndRefund(successKey: string, refund: { key: string; policy: ThrottlePolicy }, also?: AlsoWrite): Promise<void> {
      // the audit row's CTE first: kysely types a statement's CTEs by those before them
      const q = (also ? db.with('also', also) : db) as unknown as QueryCreator<Database>;
      await q
        .with('cleared', (qb) => qb.deleteFrom('throttles').where('key', '=', successKey).returning('key'))
        .updateTable('throttles')
        .set(refundSet(refund.policy))
        .where('key', '=', refund.key)
        .where(sql<boolean>`(SELECT count(*) FROM cleared) >= 0`)
        .execute();
    },
  };
}

export type ThrottleService = ReturnType<typeof createThrottleService>;
