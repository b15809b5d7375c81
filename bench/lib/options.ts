// What every bench mode shares: the command line and environment knobs, progress on stderr, the measurement lines on
// stdout and the results file.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchDir } from './child.ts';
import type { LoadResult } from './load.ts';
import { round } from './stats.ts';

function num(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

/** `--name value` or `--name=value`; `undefined` when absent, `fallback` when given without a value */
function flagValue(name: string, fallback?: number): number | undefined {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let raw: string | undefined;
    if (a === `--${name}`) raw = argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--') ? argv[i + 1] : undefined;
    else if (a.startsWith(`--${name}=`)) raw = a.slice(name.length + 3);
    else continue;
    if (raw === undefined) {
      if (fallback === undefined) throw new Error(`--${name} needs a number`);
      return fallback;
    }
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got "${raw}"`);
    return n;
  }
  return undefined;
}

/** `npm run bench -- --quick`: shorter windows and warm-up, for iterating (under 2 minutes); the env still wins */
export const QUICK = process.argv.includes('--quick');
export const WINDOW = num('BENCH_SECONDS', QUICK ? 1.5 : 3, 0.5);
export const ROUNDS = Math.floor(num('BENCH_ROUNDS', 3, 1));
export const WARMUP = num('BENCH_WARMUP_SECONDS', QUICK ? 2 : 4, 0);
export const CC_INFLIGHT = Math.floor(num('BENCH_CC_INFLIGHT', 32, 1));
export const LOGIN_INFLIGHT = Math.floor(num('BENCH_LOGIN_INFLIGHT', 4, 1));
export const CORES = os.availableParallelism();
export const ARGON_INFLIGHT = Math.floor(num('BENCH_ARGON_INFLIGHT', CORES, 1));
export const STRICT = process.env.BENCH_STRICT === '1';
/** users with an authenticator app for T3 (a user spends each 30 s code once): ≥ sign-ins/s × 10 */
export const TOTP_USERS = Math.floor(num('BENCH_TOTP_USERS', QUICK ? 120 : 400, 10));
/** `--seed N`: the scale figure S1 with N users (bench/scale.ts) instead of T1–T8 */
export const SEED = flagValue('seed');
/** `--sustain [seconds]`: the table-size figure S2 over a sustained run (bench/sustain.ts) instead of T1–T8 */
export const SUSTAIN_S = flagValue('sustain', QUICK ? 60 : 180);
/** `--cpu-prof`: a V8 CPU profile of our server per measured window, in bench/results/profiles/<run>/ */
export const CPU_PROF = process.argv.includes('--cpu-prof');
/** a measurement with more errors than this share of its requests is reported invalid */
export const MAX_ERROR_SHARE = 0.01;

const t0 = performance.now();
export const since = () => ((performance.now() - t0) / 1000).toFixed(1);
export const elapsedS = () => round((performance.now() - t0) / 1000, 1);
export const progress = (msg: string) => process.stderr.write(`[bench ${since()}s] ${msg}\n`);
/** names the run's files: its start time */
export const RUN_ID = new Date().toISOString().replace(/[:.]/g, '-');
export const resultsDir = path.join(benchDir, 'results');

export type Measurement = Record<string, unknown> & { name: string; round: number };
export const measurements: Measurement[] = [];
export function emit(m: Measurement) {
  measurements.push(m);
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

export function loadFields(r: LoadResult) {
  return {
    per_s: round(r.per_s, 1),
    ok: r.ok,
    errors: r.errors,
    elapsed_s: round(r.elapsed, 2),
    p50_ms: round(r.p50_ms, 2),
    p99_ms: round(r.p99_ms, 2),
    valid: r.ok > 0 && r.errors <= MAX_ERROR_SHARE * (r.ok + r.errors),
    ...(r.exhausted ? { exhausted: true } : {}),
    ...(r.firstError ? { first_error: r.firstError.slice(0, 300) } : {}),
  };
}

/** the summary line on stdout and the whole run as one file, so that two runs compare (bench/results/README.md) */
export function writeResults(summary: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${RUN_ID}.json`);
  writeFileSync(file, `${JSON.stringify({ summary, measurements, quick: QUICK, load_average: os.loadavg(), ...extra }, null, 1)}\n`);
  progress(`results written to ${path.relative(process.cwd(), file)}`);
}

/** the machine's own load while a run goes on: other tenants make absolute numbers move (ratios less so) */
export const loadAverage = () => os.loadavg().map((v) => round(v, 2));
