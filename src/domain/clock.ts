import { sql, type RawBuilder } from 'kysely';

export interface Clock {
  now(): Date;
  /** true for the real clock: SQL then uses the database's own now(), one time source for every node */
  readonly system?: boolean;
}

export const systemClock: Clock = { now: () => new Date(), system: true };

/**
 * "now" inside SQL. In production the database's clock (every node agrees on it); with an injected clock (tests
 * that fix the time) that clock's time, so that a test which fixes the time fixes it in the database too.
 */
export function sqlNow(clock: Clock): RawBuilder<Date> {
  return clock.system ? sql<Date>`now()` : sql<Date>`${clock.now().toISOString()}::timestamptz`;
}

/** a clock as a statement compiled once (db/compiled.ts) takes it: "system" (the database's now()) or "fixed" (a test's) */
export type ClockShape = 'system' | 'fixed';

/** the clock's shape, and its time as the statement's value when it is fixed (none for the system clock) */
export function clockValues(clock: Clock): { shape: ClockShape; at: string[] } {
  return clock.system ? { shape: 'system', at: [] } : { shape: 'fixed', at: [clock.now().toISOString()] };
}

/** "now" inside a statement compiled once: the database's clock, or the fixed time it was given as `at` (a value) */
export function sqlNowOf(shape: ClockShape, at: unknown): RawBuilder<Date> {
  return shape === 'fixed' ? sql<Date>`CAST(${at} AS timestamptz)` : sql<Date>`now()`;
}
