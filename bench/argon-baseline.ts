// Child process: the B_argon baseline. Raw argon2.verify at the production parameters, in a process of its own
// (as the server is), with the same UV_THREADPOOL_SIZE:
//   BENCH_MODE=throughput: one window of BENCH_WINDOW seconds, BENCH_INFLIGHT verifies in flight (default 2 =
//   cores): B_argon, T1's and T2's denominator;
//   BENCH_MODE=paired: one verify at a time, each when asked: prints "ready", then answers each line "verify" on
//   stdin with that verify's milliseconds (`ms <n>`), until stopped (bench/lib/child.ts startLineChild). T7 asks for one before each login POST it
//   times (figures.ts), so that both sides of its ratio see the same moments of the machine.
// Prints one JSON line (throughput).
import argon2 from 'argon2';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { PROD_ARGON2 } from './lib/config.ts';
import { percentile } from './lib/stats.ts';

const seconds = Number(process.env.BENCH_WINDOW ?? 3);
const inflight = Number(process.env.BENCH_INFLIGHT ?? 2);
const password = 'bench password for argon2 baseline';
const hash = await argon2.hash(password, { type: argon2.argon2id, ...PROD_ARGON2 });

async function loop(n: number, windowS: number): Promise<{ ops: number; elapsed: number; lat: number[] }> {
  const lat: number[] = [];
  const start = performance.now();
  const deadline = start + windowS * 1000;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const ok = await argon2.verify(hash, password);
        if (!ok) throw new Error('argon2.verify returned false');
        lat.push(performance.now() - t0);
      }
    }),
  );
  return { ops: lat.length, elapsed: (performance.now() - start) / 1000, lat };
}

const mode = process.env.BENCH_MODE ?? 'throughput';
if (mode === 'paired') {
  await loop(1, 0.3); // warm-up, as for a window
  process.stdout.write('ready\n');
  // one verify per line, one at a time (the lines come one by one: the bench waits for each answer)
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'verify') continue;
    const t0 = performance.now();
    if (!(await argon2.verify(hash, password))) throw new Error('argon2.verify returned false');
    process.stdout.write(`ms ${performance.now() - t0}\n`);
  }
  process.exit(0);
}
const n = inflight;
await loop(n, 0.3); // warm-up: threads started, memory touched
const r = await loop(n, seconds);
process.stdout.write(
  `${JSON.stringify({
    mode,
    params: { type: 'argon2id', m: PROD_ARGON2.memoryCost, t: PROD_ARGON2.timeCost, p: PROD_ARGON2.parallelism },
    inflight: n,
    ops_per_s: r.ops / r.elapsed,
    n: r.ops,
    p50_ms: percentile(r.lat, 50),
    p99_ms: percentile(r.lat, 99),
  })}\n`,
);
