// Connecting to PostgreSQL: the pool, with bounded waits and connection errors that never crash the process, the
// migration lock PgBouncer's transaction pooling can carry, and named statements when asked (prepared.ts).
import { Kysely, PostgresAdapter, PostgresDialect, sql, type DialectAdapter } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';
import { prepareStatements } from './prepared.ts';

/** the advisory lock every migration run holds (migrate.ts); kysely's own id, so older versions exclude ours too */
export const MIGRATION_LOCK = 3853314791062309107n;

/**
 * kysely's migration lock is a session-level advisory lock taken and released in two statements outside the
 * migrations' transaction. Behind PgBouncer's transaction pooling those two statements can run on different server
 * connections, and the lock then stays held by a pooled connection forever: the next start waits on it. Ours is a
 * transaction-level lock instead, taken first thing in the transaction the migrations run in (migrate.ts) and again
 * here (re-entrant), released by its commit or rollback on the same server connection whatever happens.
 */
class TransactionLockAdapter extends PostgresAdapter {
  override async acquireMigrationLock(db: Kysely<any>): Promise<void> {
    await sql`SELECT pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK)})`.execute(db);
  }

  override async releaseMigrationLock(): Promise<void> {}
}

class GatehouseDialect extends PostgresDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionLockAdapter();
  }
}

/** `preparedStatements`: name each statement on each connection (prepared.ts); not through PgBouncer before 1.21 in transaction mode */
export function createDb(connectionString: string, opts: { max?: number; applicationName?: string; preparedStatements?: boolean } = {}): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    // bounded wait for a connection: a saturated pool answers 503 instead of queueing forever
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? 'gatehouse',
  });
  // a connection dropped by the server (restart, pg_terminate_backend) must not crash the process: idle clients
  // report to the pool, checked-out ones to their own listener; the query in flight still fails and is answered
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
    if (opts.preparedStatements) prepareStatements(client);
  });
  return new Kysely<Database>({ dialect: new GatehouseDialect({ pool }) });
}
