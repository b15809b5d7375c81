// Guess counters in PostgreSQL, shared by every node, interaction and endpoint. The counter is incremented, and the
// lock that would follow a failure is set, in the same statement that admits the attempt: concurrent guesses can
// never get past the cap (decision D5: delays, no permanent lockout).
import { sql, type Compilable, type InsertQueryBuilder, type InsertResult, type Kysely, type QueryCreator, type RawBuilder } from 'kysely';
import { compiledOnce } from '../../db/compiled.ts';
import type { Database } from '../../db/database.ts';
import { clockValues, sqlNow, sqlNowOf, systemClock, type Clock, type ClockShape } from '../clock.ts';

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

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** a policy as the values a statement binds (the policy is a value, not part of the statement's text) */
export const policyValues = (p: ThrottlePolicy) => [p.free, p.baseDelaySeconds, p.maxDelaySeconds, p.decaySeconds];
const POLICY_VALUES = policyValues(PER_ACCOUNT).length;

/** the policy's lock after `failures` failures (NULL while free), and the count after one more (from 1 once decayed) */
function lockMath(now: RawBuilder<Date>, policy: unknown[]) {
  const [free, baseDelay, maxDelay, decay] = policy;
  const lockAfter = (failures: ReturnType<typeof sql>) =>
    sql`CASE WHEN ${failures} >= ${free}
      THEN ${now} + make_interval(secs => least(${baseDelay} * power(2, ${failures} - ${free}), ${maxDelay}))
      ELSE NULL END`;
  const next = sql<number>`CASE WHEN throttles.updated_at < ${now} - make_interval(secs => ${decay}) THEN 1 ELSE throttles.failures + 1 END`;
  return { lockAfter, next };
}

/** the upsert's conflict arm: one more failure counted, unless the counter is locked (then no row: refused) */
function countUnlessLocked<Q extends { onConflict: InsertQueryBuilder<Database, 'throttles', InsertResult>['onConflict'] }>(q: Q, now: RawBuilder<Date>, policy: unknown[]) {
  const { lockAfter, next } = lockMath(now, policy);
  return q
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet({ failures: next, locked_until: sql`${lockAfter(next)}`, updated_at: now })
        .where((eb) => eb.or([eb('throttles.locked_until', 'is', null), eb('throttles.locked_until', '<=', now)])),
    )
    .returning('key');
}

/**
 * The admitting upsert of one attempt: returns the key when admitted, no row when locked. `v`: the key and the policy's
 * values (placeholders while compiledOnce builds); `now`: the database's clock or the service's fixed one.
 */
function admit(qb: QueryCreator<Database>, now: RawBuilder<Date>, v: unknown[]) {
  const [key, ...policy] = v;
  const { lockAfter } = lockMath(now, policy);
  return countUnlessLocked(qb.insertInto('throttles').values({ key: key as string, failures: 1, locked_until: sql`${lockAfter(sql`1`)}`, updated_at: now }), now, policy);
}

/**
 * admit() of a counter whose key another part of the statement gives: `key` over the rows of the CTE `from` that
 * `where` keeps (none: nothing counted, no row). `policy`: the policy's values (policyValues).
 */
export function admitFrom(qb: QueryCreator<Database>, now: RawBuilder<Date>, from: string, key: RawBuilder<string>, where: RawBuilder<boolean>, policy: unknown[]) {
  const { lockAfter } = lockMath(now, policy);
  const rows = sql`SELECT ${key}, 1, ${lockAfter(sql`1`)}, ${now} FROM ${sql.table(from)} WHERE ${where}`;
  return countUnlessLocked(qb.insertInto('throttles').columns(['key', 'failures', 'locked_until', 'updated_at']).expression(rows as never), now, policy);
}

/**
 * The counters' hot statements, each built and compiled once per shape (db/compiled.ts): the clock ("system": the
 * database's now(); "fixed": a test's clock, its time the first value) and how many counters, or, for a settlement,
 * which rows go along with it (alongShape).
 */
const attemptsStatement = compiledOnce((db: Kysely<Database>, shape: `${ClockShape}:${number}`, ...v: unknown[]) => {
  const [clockKind, n] = shape.split(':') as [ClockShape, string];
  const now = sqlNowOf(clockKind, v[0]);
  const counters = v.slice(clockKind === 'fixed' ? 1 : 0);
  const ctes = Array.from({ length: Number(n) }, (_x, i) => sql`${sql.ref(`a${i}`)} AS (${admit(db, now, counters.slice(i * (1 + POLICY_VALUES), (i + 1) * (1 + POLICY_VALUES)))})`);
  const selects = ctes.map((_c, i) => sql`SELECT key FROM ${sql.ref(`a${i}`)}`);
  const raw = sql<{ key: string }>`WITH ${sql.join(ctes)} ${sql.join(selects, sql` UNION ALL `)}`;
  return { compile: () => raw.compile(db) };
});

/**
 * A row written along with a settlement of the counters, in its statement (an audit row, the sign-in's next step): its
 * insert as a CTE, built from its values. `name` stands for the insert in the statement's shape: one insert per name.
 */
export interface AlongRow {
  name: string;
  values: readonly unknown[];
  insert(qb: QueryCreator<Database>, values: readonly unknown[]): Compilable<unknown>;
}

/** the inserts by name, as the rows along brought them (a statement of a new shape is built from them) */
const inserts = new Map<string, AlongRow['insert']>();

/**
 * the shape of a settlement's statement: its own kind, then each row along as its name and how many values it binds.
 * A name stands for one insert (a function made once, at module level): another under the same name is refused, since
 * a statement already built for that name would not be its.
 */
function alongShape(kind: string, along: readonly AlongRow[]): string {
  for (const a of along) {
    const known = inserts.get(a.name);
    if (!known) inserts.set(a.name, a.insert);
    else if (known !== a.insert) throw new Error(`a row along named "${a.name}" with another insert than the one its statements were built with`);
  }
  return [kind, ...along.map((a) => `${a.name}/${a.values.length}`)].join('+');
}

/** the rows along a statement of this shape, each a CTE (also0, also1, …), for the caller to add its own statement to; `v`: their values, in order */
function withAlong(db: Kysely<Database>, shape: string, v: readonly unknown[]): QueryCreator<Database> {
  let q = db as unknown as QueryCreator<Database>;
  let at = 0;
  shape
    .split('+')
    .slice(1)
    .forEach((part, i) => {
      const [name, n] = [part.slice(0, part.lastIndexOf('/')), Number(part.slice(part.lastIndexOf('/') + 1))];
      const values = v.slice(at, at + n);
      at += n;
      q = q.with(`also${i}`, ((qb: QueryCreator<Database>) => inserts.get(name)!(qb, values)) as never) as unknown as QueryCreator<Database>;
    });
  return q;
}

/** success(): the counter's clear, with the rows along in CTEs before it (their values after the key) */
const clearStatement = compiledOnce((db: Kysely<Database>, shape: string, key: unknown, ...along: unknown[]) =>
  (withAlong(db, shape, along) as unknown as Kysely<Database>).deleteFrom('throttles').where('key', '=', key as string),
);

/**
 * successAndRefund(): one counter's clear and another's refund. Why the main statement reads the CTE: an unread
 * data-modifying CTE runs after the main statement, so the refund would lock its row before the clear, the opposite
 * of attemptEach() (its counters in the order given: the account's, then the IP's); a right password and a wrong one
 * at the same moment would then deadlock. Read first, the clear always locks first. The rows along (their values
 * last) go in CTEs of their own.
 */
const clearAndRefundStatement = compiledOnce((db: Kysely<Database>, shape: string, clearKey: unknown, refundKey: unknown, free: unknown, ...along: unknown[]) =>
  withAlong(db, shape, along)
    .with('cleared', (qb) => qb.deleteFrom('throttles').where('key', '=', clearKey as string).returning('key'))
    .updateTable('throttles')
    .set(refundSet(free))
    .where('key', '=', refundKey as string)
    .where(sql<boolean>`(SELECT count(*) FROM cleared) >= 0`),
);

function refundSet(free: unknown) {
  return {
    failures: sql<number>`greatest(failures - 1, 0)`,
    locked_until: sql<Date | null>`CASE WHEN failures - 1 < ${free} THEN NULL ELSE locked_until END`,
  };
}

export function createThrottleService(db: Kysely<Database>, clock: Clock = systemClock) {
  /** the counters' attempts in one statement: the keys admitted */
  async function admitted(counters: { key: string; policy: ThrottlePolicy }[]): Promise<Set<string>> {
    const { shape, at } = clockValues(clock);
    const values = counters.flatMap((c) => [c.key, ...policyValues(c.policy)]);
    const { rows } = await attemptsStatement(db, `${shape}:${counters.length}`, ...at, ...values);
    return new Set(rows.map((row) => row.key));
  }

  async function refused(key: string): Promise<ThrottleDecision> {
    const row = await db.selectFrom('throttles').select(sql<number>`ceil(extract(epoch from locked_until - ${sqlNow(clock)}))`.as('wait')).where('key', '=', key).executeTakeFirst();
    return { allowed: false, retryAfterSeconds: Math.max(1, Number(row?.wait ?? 1)) };
  }

  return {
    /** the refusal of an attempt that a statement's admitFrom() did not admit: how long its counter stays locked */
    refusal: refused,

    /** admits one attempt or refuses it; call success() when the attempt turned out right */
    async attempt(key: string, policy: ThrottlePolicy = PER_ACCOUNT): Promise<ThrottleDecision> {
      return (await admitted([{ key, policy }])).has(key) ? { allowed: true } : refused(key);
    },

    /**
     * One attempt counted on several counters (a password guess: per account and per IP) in one statement, each
     * counter admitting or refusing on its own as attempt() would; the decisions in the order of `counters`, whose
     * rows are also locked in that order (successAndRefund() takes them in the same order: the cleared one first).
     */
    async attemptEach(counters: { key: string; policy: ThrottlePolicy }[]): Promise<ThrottleDecision[]> {
      if (!counters.length) return [];
      const ok = await admitted(counters);
      return Promise.all(counters.map((c) => (ok.has(c.key) ? { allowed: true as const } : refused(c.key))));
    },

    /** `along`: rows that commit with the clear, in its statement (a right password's audit row, its next step) */
    async success(key: string, along: readonly AlongRow[] = []): Promise<void> {
      await clearStatement(db, alongShape('clear', along), key, ...along.flatMap((a) => a.values));
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
      await db.updateTable('throttles').set(refundSet(policy.free)).where('key', '=', key).execute();
    },

    /** success() of one counter and refund() of another, in one statement (clearAndRefundStatement); `along` as for success() */
    async successAndRefund(successKey: string, refund: { key: string; policy: ThrottlePolicy }, along: readonly AlongRow[] = []): Promise<void> {
      await clearAndRefundStatement(db, alongShape('clear-refund', along), successKey, refund.key, refund.policy.free, ...along.flatMap((a) => a.values));
    },
  };
}

export type ThrottleService = ReturnType<typeof createThrottleService>;
