// Named (prepared) statements on each pooled connection. PostgreSQL then parses and plans a statement once per
// connection instead of on every run: the refresh token's read, for one, took 0.47 ms to plan and 0.15 ms to run.
// Only statements with parameters are named (kysely sends every value as one, so its text is the same from run to
// run); a statement without is sent as it is (BEGIN, COMMIT, several statements in one string).
import { createHash } from 'node:crypto';
import type pg from 'pg';

/** distinct statements named per connection; beyond it (a query built with a varying number of values) they run unnamed */
const MAX_NAMED = 300;

type Query = (...args: unknown[]) => Promise<unknown>;

/**
 * Errors of a named run that an unnamed run of the same text may not have: a table changed under the prepared plan
 * (0A000: another node's migration added a column), a column's type changed under the parameter types fixed at
 * preparation (42883, 42804), the statement gone from the server (26000).
 */
const STALE_PLAN = new Set(['0A000', '42883', '42804', '26000']);

/** a stale plan inside an open transaction: PostgreSQL aborted the transaction, so the request fails (503, retry) */
export class StalePreparedStatementError extends Error {
  override name = 'StalePreparedStatementError';
  constructor(override readonly cause: unknown) {
    super('a prepared statement went stale inside a transaction; the transaction can be retried');
  }
}

export function prepareStatements(client: pg.PoolClient): void {
  // the prototype's query looked up on each call, not bound once: whatever wraps pg.Client.prototype.query later (the
  // bench's and the tests' statement counters) still sees every statement
  const proto = Object.getPrototypeOf(client) as { query: Query };
  const original: Query = (...args) => proto.query.apply(client, args);
  const names = new Map<string, string>();
  const unnamed = new Set<string>();
  client.query = ((text: unknown, values?: unknown, callback?: unknown) => {
    if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0 || callback !== undefined || unnamed.has(text)) {
      return original(text, values, callback);
    }
    let name = names.get(text);
    if (!name) {
      if (names.size >= MAX_NAMED) return original(text, values);
      name = `g${createHash('sha1').update(text).digest('base64url').slice(0, 20)}`;
      names.set(text, name);
    }
    return original({ name, text, values }).catch((err: { code?: string }) => {
      if (!STALE_PLAN.has(err?.code ?? '')) throw err;
      // this connection's plan of it is stale for good: unnamed from now on (a new connection prepares afresh)
      names.delete(text);
      unnamed.add(text);
      // outside a transaction the statement simply runs again; inside one, the error has aborted the transaction
      if (client.getTransactionStatus?.() !== 'I') throw new StalePreparedStatementError(err);
      return original(text, values);
    });
  }) as typeof client.query;
}
