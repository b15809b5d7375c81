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
