// Guess counters in PostgreSQL, shared by every node, interaction and endpoint. The counter is incremented, and the
// lock that would follow a failure is set, in the same statement that admits the attempt: concurrent guesses can
// never get past the cap (decision D5: delays, no permanent lockout).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';

export const FREE_ATTEMPTS = 5;
export const BASE_DELAY_SECONDS = 30;
export const MAX_DELAY_SECONDS = 15 * 60;

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export function createThrottleService(db: Kysely<Database>) {
  return {
    /** admits one attempt or refuses it; call success() when the attempt turned out right */
    async attempt(key: string): Promise<ThrottleDecision> {
      const lockAfter = (failures: ReturnType<typeof sql>) =>
        sql`CASE WHEN ${failures} >= ${FREE_ATTEMPTS}
          THEN now() + make_interval(secs => least(${BASE_DELAY_SECONDS} * power(2, ${failures} - ${FREE_ATTEMPTS}), ${MAX_DELAY_SECONDS}))
          ELSE NULL END`;
      const admitted = await db
        .insertInto('throttles')
        .values({ key, failures: 1, locked_until: sql`${lockAfter(sql`1`)}` })
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet({
              failures: sql`throttles.failures + 1`,
              locked_until: sql`${lockAfter(sql`throttles.failures + 1`)}`,
              updated_at: sql`now()`,
            })
            .where((eb) => eb.or([eb('throttles.locked_until', 'is', null), eb('throttles.locked_until', '<=', sql<Date>`now()`)])),
        )
        .returning('failures')
        .executeTakeFirst();
      if (admitted) return { allowed: true };
      const row = await db.selectFrom('throttles').select(sql<number>`ceil(extract(epoch from locked_until - now()))`.as('wait')).where('key', '=', key).executeTakeFirst();
      return { allowed: false, retryAfterSeconds: Math.max(1, Number(row?.wait ?? 1)) };
    },

    async success(key: string): Promise<void> {
      await db.deleteFrom('throttles').where('key', '=', key).execute();
    },
  };
}

export type ThrottleService = ReturnType<typeof createThrottleService>;
