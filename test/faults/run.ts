// `npm run test:faults`: one PostgreSQL (the same global setup as `npm test`), then every test/faults/*.test.ts with
// node's test runner one file at a time (they are load tests: on 2 cores, two at once would measure each other),
// then the table of the rows each scenario reported (report.ts). Exits non-zero when any test failed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exitWith, withTestPostgres } from '../helpers/pg-harness.ts';
import type { FaultRow } from './report.ts';
// @ts-expect-error plain JavaScript without declarations (bin/ is not compiled)
import { ensureBuilt } from '../../bin/build.js';

const TEMPLATE = 'gatehouse_faults_template';
const DIR = 'test/faults';

function table(rows: FaultRow[]): string {
  const head = ['scenario', 'result', 'requests', 'successes', '5xx', 'recovery s', 'note'];
  const body = rows.map((r) => [r.scenario, r.result, String(r.requests), String(r.successes), String(r.fiveXx), r.recoverySeconds === undefined ? '' : r.recoverySeconds.toFixed(1), r.note ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  let files = readdirSync(DIR).filter((f) => f.endsWith('.test.ts')).sort().map((f) => path.join(DIR, f));
  if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-faults-'));
  const report = path.join(tmp, 'rows.jsonl');
  // the rig's nodes run `node bin/start.cjs`, which builds dist/ when stale: build once here, not in N nodes at once
  ensureBuilt();
  const started = Date.now();
  try {
    const code = await withTestPostgres(TEMPLATE, (pgEnv) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=300000', ...files], {
          stdio: 'inherit',
          env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE || '8', ...pgEnv, GATEHOUSE_FAULTS_REPORT: report },
        });
        child.on('exit', (c) => resolve(c ?? 1));
      }),
    );
    let rows: FaultRow[] = [];
    try {
      rows = readFileSync(report, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as FaultRow);
    } catch {
      // no scenario reported anything
    }
    rows.sort((a, b) => parseInt(a.scenario, 10) - parseInt(b.scenario, 10) || a.scenario.localeCompare(b.scenario));
    console.log(`\nFault scenarios (${((Date.now() - started) / 1000).toFixed(0)} s):\n${table(rows)}\n`);
    return code;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

exitWith(main());
