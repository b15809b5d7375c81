// Global setup for `npm test` (node 20's runner has none): start PostgreSQL once, migrate a template database,
// run every test file (each clones the template), stop PostgreSQL.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createDb } from '../src/db/database.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { freePort } from './helpers/net.ts';

const TEMPLATE = 'gatehouse_test_template';


function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    // test/interop needs Apache, Python and more: `npm run test:interop` runs it (test/interop/run.ts)
    if (statSync(p).isDirectory()) return name === 'helpers' || name === 'interop' ? [] : findTests(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

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
    tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-test-'));
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

    let files = findTests('test').sort();
    if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
        stdio: 'inherit',
        env: { ...process.env, GATEHOUSE_TEST_PG_ADMIN: adminUrl, GATEHOUSE_TEST_PG_TEMPLATE: TEMPLATE },
      });
      child.on('exit', (c) => resolve(c ?? 1));
    });
    return code;
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
