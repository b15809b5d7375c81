// `npm run test:interop`: clients and resource servers nobody here wrote (Apache mod_auth_openidc, Python authlib,
// jose / introspection resource servers) and the OpenID conformance-style plans, against a real Gatehouse.
// Like test/run.ts: one PostgreSQL for the run, a migrated template each test file clones; then node --test over
// test/interop/*.test.ts with the spec reporter and a summary table (client or plan, flow, result). Exit 1 on any failure.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb } from '../../src/db/database.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { freePort } from '../helpers/net.ts';

const TEMPLATE = 'gatehouse_interop_template';
const DIR = path.dirname(new URL(import.meta.url).pathname);

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  let adminUrl: string;
  let stop = async () => {};
  let tmp: string | undefined;
  if (process.env.DATABASE_URL) {
    const u = new URL(process.env.DATABASE_URL);
    u.pathname = '';
    adminUrl = u.toString().replace(/\/$/, '');
  } else {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-interop-'));
    chmodSync(tmp, 0o755); // the embedded server may run as the postgres user
    const handle = await startEmbeddedPostgres({ dataDir: tmp, port: await freePort(), database: 'postgres' });
    adminUrl = handle.adminUrl;
    stop = handle.stop;
  }
  try {
    const admin = new pg.Client({ connectionString: `${adminUrl}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE}`);
    await admin.end();
    const db = createDb(`${adminUrl}/${TEMPLATE}`, { max: 1 });
    await migrateToLatest(db);
    await db.destroy();

    let files = readdirSync(DIR).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(DIR, f));
    if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
    if (!files.length) throw new Error(`no interop test matches ${filters.join(' ')}`);
    return await new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import', 'tsx', '--test', '--test-concurrency=2',
          '--test-reporter=spec', '--test-reporter-destination=stdout',
          `--test-reporter=${path.join(DIR, 'support/table-reporter.mjs')}`, '--test-reporter-destination=stdout',
          ...files,
        ],
        {
          stdio: 'inherit',
          env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE || '8', GATEHOUSE_TEST_PG_ADMIN: adminUrl, GATEHOUSE_TEST_PG_TEMPLATE: TEMPLATE },
        },
      );
      child.on('exit', (c) => resolve(c ?? 1));
    });
  } finally {
    await stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
