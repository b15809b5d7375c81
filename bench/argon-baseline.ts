// Child process: the B_argon baseline. Raw argon2.verify at the production parameters, in a process of its own
// (as the server is), with the same UV_THREADPOOL_SIZE. Two windows of BENCH_WINDOW seconds each:
//   1. throughput with BENCH_INFLIGHT verifies in flight (default 2 = cores),
//   2. latency of a single verify (1 in flight): p50 is T7's denominator.
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

await loop(inflight, 0.3); // warm-up: threads started, memory touched
const tput = await loop(inflight, seconds);
const single = await loop(1, seconds);
process.stdout.write(
  `${JSON.stringify({
    params: { type: 'argon2id', m: PROD_ARGON2.memoryCost, t: PROD_ARGON2.timeCost, p: PROD_ARGON2.parallelism },
    inflight,
    ops_per_s: tput.ops / tput.elapsed,
    n: tput.ops,
    inflight_p50_ms: percentile(tput.lat, 50),
    single_p50_ms: percentile(single.lat, 50),
    single_p99_ms: percentile(single.lat, 99),
    single_n: single.ops,
  })}\n`,
);
