// Global setup for `npm test` (node 20's runner has none): start PostgreSQL once, migrate a template database,
// run every test file (each clones the template), stop PostgreSQL.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { exitWith, withTestPostgres } from './helpers/pg-harness.ts';
// @ts-expect-error plain JavaScript without declarations (bin/ is not compiled)
import { ensureBuilt } from '../bin/build.js';

const TEMPLATE = 'gatehouse_test_template';


function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    // test/interop needs Apache, Python and more: `npm run test:interop` runs it (test/interop/run.ts); test/faults
    // needs HAProxy, PgBouncer and several minutes of load: `npm run test:faults` runs it (test/faults/run.ts)
    if (statSync(p).isDirectory()) return ['helpers', 'interop', 'faults'].includes(name) ? [] : findTests(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  return withTestPostgres(TEMPLATE, async (pgEnv) => {
    let files = findTests('test').sort();
    if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
    // `npm start` runs the compiled code: build it once here, so that the test starting it does not wait for tsc
    if (files.some((f) => f.endsWith('start.test.ts'))) ensureBuilt();
    return new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit', env: { ...process.env, ...pgEnv } });
      child.on('exit', (c) => resolve(c ?? 1));
    });
  });
}

exitWith(main());
