// What every bench entry point starts from: an embedded PostgreSQL 17 in a fresh temp dir, a migrated database
// with signing keys, one user (password hashed at the production parameters) and the clients the figures use.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServices, prepare } from '../../src/container.ts';
import { createDb } from '../../src/db/database.ts';
import { startEmbeddedPostgres, type EmbeddedHandle } from '../../src/db/embedded.ts';
import { freePort } from './child.ts';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/db/database.ts';
import { enrollTotp } from '../../test/helpers/totp.ts';
import { benchConfig } from './config.ts';
import { parallel } from './load.ts';

export const benchPassword = 'bench password: correct horse battery staple';
export const benchEmail = 'bench@example.com';
export const redirectUri = 'http://127.0.0.1:9/callback';
/** the resource (RFC 8707) the JWT access-token figure asks for */
export const benchResource = 'https://api.bench.example/';

export interface BenchClient {
  clientId: string;
  clientSecret: string;
}

export interface BenchDatabase {
  tmp: string;
  pg: EmbeddedHandle;
  ourPort: number;
  web: BenchClient;
  machine: BenchClient;
  /** users with an authenticator app (T3): a code's step is spent once per user, so a pool of them */
  totpUsers: { email: string; password: string; secret: string }[];
  stop(): Promise<void>;
}

export async function startBenchDatabase(opts: { totpUsers?: number } = {}): Promise<BenchDatabase> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  chmodSync(tmp, 0o755); // as root, the embedded server runs as the postgres user, which must traverse it
  let pg: EmbeddedHandle | undefined;
  try {
    const pgPort = await freePort();
    pg = await startEmbeddedPostgres({ dataDir: tmp, port: pgPort, database: 'gatehouse_bench' });
    const ourPort = await freePort();
    const prepared = await prepareBenchDatabase(pg.url, ourPort, opts);
    const handle = pg;
    return {
      tmp,
      pg,
      ourPort,
      ...prepared,
      async stop() {
        await handle.stop().catch(() => {});
        rmSync(tmp, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await pg?.stop().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** migrations, signing keys, the bench user, `totpUsers` users with an authenticator app and the two clients */
export async function prepareBenchDatabase(url: string, port: number, opts: { totpUsers?: number } = {}) {
  const db = createDb(url, { max: 2 });
  try {
    const services = createServices(benchConfig(url, port), db);
    await prepare(services); // migrations and signing keys
    const user = await services.users.create({ email: benchEmail, name: 'Bench User', password: benchPassword, emailVerified: true });
    const totpUsers = await enrollTotpUsers(services, db, user.id, opts.totpUsers ?? 0);
    const web = await services.clients.create({ name: 'Bench web app', redirectUris: [redirectUri], firstParty: true, grantTypes: ['refresh_token'] });
    const machine = await services.clients.create({ name: 'Bench worker', grantTypes: ['client_credentials'] });
    // each user enrolled above was told by mail that 2FA is on: marked sent here, so that the server does not spend
    // its first seconds delivering seeding's mail (20 a second) while a baseline or a figure is measured
    await db.updateTable('email_outbox').set({ sent_at: sql`now()` }).where('sent_at', 'is', null).execute();
    return {
      web: { clientId: web.clientId, clientSecret: web.clientSecret! } as BenchClient,
      machine: { clientId: machine.clientId, clientSecret: machine.clientSecret! } as BenchClient,
      totpUsers,
    };
  } finally {
    await db.destroy();
  }
}

/** one more database on the bench's PostgreSQL (S1 compares two populations side by side) */
export async function createDatabase(bench: BenchDatabase, name: string): Promise<string> {
  const admin = createDb(bench.pg.url, { max: 1 });
  try {
    await sql`CREATE DATABASE ${sql.id(name)}`.execute(admin);
  } finally {
    await admin.destroy();
  }
  const url = new URL(bench.pg.url);
  url.pathname = `/${name}`;
  return url.toString();
}

type Services = ReturnType<typeof createServices>;

/**
 * Users with a confirmed authenticator app, enrolled as the account page does. They share the first user's
 * password hash (copied in SQL: one argon2 hash instead of one per user).
 */
async function enrollTotpUsers(services: Services, db: Kysely<Database>, hashFrom: string, count: number) {
  const out: { email: string; password: string; secret: string }[] = [];
  if (!count) return out;
  await sql`INSERT INTO users (email, email_normalized, email_verified, name, password_hash)
    SELECT 'bench-totp-' || i || '@example.com', 'bench-totp-' || i || '@example.com', true, 'Bench TOTP ' || i, u.password_hash
    FROM generate_series(1, ${count}) AS i, users u WHERE u.id = ${hashFrom}`.execute(db);
  const users = await db.selectFrom('users').selectAll().where('email', 'like', 'bench-totp-%').execute();
  await parallel(users.length, 4, async (i) => {
    const user = await services.users.findById(users[i]!.id);
    const { secret } = await enrollTotp(services, user!);
    out.push({ email: users[i]!.email, password: benchPassword, secret });
  });
  return out;
}
