// Is this error the database being out of reach (stopped, restarting, connections killed, the pool exhausted), as
// opposed to a bug? Such requests fail closed with 503 + Retry-After (both our routes and the provider's).
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: unknown };
  if (['ECONNREFUSED', 'ECONNRESET', '57P01', '57P02', '57P03', '08006', '08001', '08003', '25006', '53300'].includes(e?.code ?? '')) return true;
  // a prepared statement went stale inside a transaction (prepared.ts): the same request again will succeed
  if ((err as Error | undefined)?.name === 'StalePreparedStatementError') return true;
  // the embedded server's Unix socket is gone while it is stopped or restarting
  if (e?.code === 'ENOENT' && /\.s\.PGSQL\./.test(e?.message ?? '')) return true;
  if (/timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error|terminating connection/i.test(e?.message ?? '')) return true;
  // PgBouncer's own answers when it has no server connection for us (no free one in time, PostgreSQL down or
  // restarting, a server connection lost): all SQLSTATE 08P01, which PostgreSQL itself uses for protocol violations
  if (e?.code === '08P01' && /query_wait_timeout|server conn crashed|cannot connect|login has been failing|server_connect_timeout|no more connections/i.test(e?.message ?? '')) return true;
  return e?.cause !== undefined && e.cause !== err ? isDatabaseUnavailable(e.cause) : false;
}

/** seconds a client should wait before retrying during an outage */
export const RETRY_AFTER_SECONDS = 5;
