// The global setup both test runners share (node 20's runner has none): one PostgreSQL for the run — embedded, or
// DATABASE_URL's server — and a migrated template database that every test file clones; then `run(env)`, which gets
// the variables the test helpers read (test/helpers/db.ts); PostgreSQL stops afterwards.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb } from '../../src/db/database.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { freePort } from './net.ts';

export async function withTestPostgres(template: string, run: (env: Record<string, string>) => Promise<number>): Promise<number> {
  let adminUrl: string;
  let stop = async () => {};
  let tmp: string | undefined;
  if (process.env.DATABASE_URL) {
    const u = new URL(process.env.DATABASE_URL);
    u.pathname = '';
    adminUrl = u.toString().replace(/\/$/, '');
  } else {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-test-'));
    chmodSync(tmp, 0o755); // the embedded server may run as the postgres user
    const handle = await startEmbeddedPostgres({ dataDir: tmp, port: await freePort(), database: 'postgres' });
    adminUrl = handle.adminUrl;
    stop = handle.stop;
  }
  try {
    const admin = new pg.Client({ connectionString: `${adminUrl}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${template}`);
    await admin.end();
    const db = createDb(`${adminUrl}/${template}`, { max: 1 });
    await migrateToLatest(db);
    await db.destroy();
    return await run({ GATEHOUSE_TEST_PG_ADMIN: adminUrl, GATEHOUSE_TEST_PG_TEMPLATE: template });
  } finally {
    await stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/** exits with the code `main` resolves to (1 when it throws) */
export function exitWith(main: Promise<number>): void {
  main.then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
