// Child process: the B_argon baseline. Raw argon2.verify at the production parameters, in a process of its own
// (as the server is), with the same UV_THREADPOOL_SIZE. One window of BENCH_WINDOW seconds:
//   BENCH_MODE=throughput: BENCH_INFLIGHT verifies in flight (default 2 = cores): B_argon, T1's and T2's denominator;
//   BENCH_MODE=latency: one verify at a time: its p50 is T7's denominator.
// Prints one JSON line.
import argon2 from 'argon2';
import { performance } from 'node:perf_hooks';
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
const n = mode === 'latency' ? 1 : inflight;
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
