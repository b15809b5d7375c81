// `npm run test:interop`: clients and resource servers nobody here wrote (Apache mod_auth_openidc, Python authlib,
// jose / introspection resource servers) and the OpenID conformance-style plans, against a real Gatehouse.
// Like test/run.ts: one PostgreSQL for the run, a migrated template each test file clones; then node --test over
// test/interop/*.test.ts with the spec reporter and a summary table (client or plan, flow, result). Exit 1 on any failure.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { exitWith, withTestPostgres } from '../helpers/pg-harness.ts';

const TEMPLATE = 'gatehouse_interop_template';
const DIR = path.dirname(new URL(import.meta.url).pathname);

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  return withTestPostgres(TEMPLATE, async (pgEnv) => {
    let files = readdirSync(DIR).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(DIR, f));
    if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
    if (!files.length) throw new Error(`no interop test matches ${filters.join(' ')}`);
    return new Promise<number>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import', 'tsx', '--test', '--test-concurrency=2',
          '--test-reporter=spec', '--test-reporter-destination=stdout',
          `--test-reporter=${path.join(DIR, 'support/table-reporter.mjs')}`, '--test-reporter-destination=stdout',
          ...files,
        ],
        { stdio: 'inherit', env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE || '8', ...pgEnv } },
      );
      child.on('exit', (c) => resolve(c ?? 1));
    });
  });
}

exitWith(main());
