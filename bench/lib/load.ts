// Closed-loop load: N workers, each running one operation after another until the window ends.
import { performance } from 'node:perf_hooks';
import { percentile } from './stats.ts';

export interface LoadResult {
  ok: number;
  errors: number;
  /** seconds from the start until the last worker finished (includes the in-flight tail) */
  elapsed: number;
  per_s: number;
  p50_ms: number;
  p99_ms: number;
  firstError?: string;
  /** a worker ran out of prepared work before the window ended */
  exhausted: boolean;
}

/** `op` returns false when it has no more work (that worker stops); throwing counts an error. */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  op: (worker: number) => Promise<boolean | void>,
  opts: { maxErrors?: number } = {},
): Promise<LoadResult> {
  const maxErrors = opts.maxErrors ?? 200;
  const lat: number[] = [];
  let errors = 0;
  let exhausted = false;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < deadline && errors < maxErrors) {
        const t0 = performance.now();
        try {
          const more = await op(w);
          if (more === false) {
            exhausted = true;
            return;
          }
          lat.push(performance.now() - t0);
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return {
    ok: lat.length,
    errors,
    elapsed,
    per_s: lat.length / elapsed,
    p50_ms: percentile(lat, 50),
    p99_ms: percentile(lat, 99),
    firstError,
    exhausted,
  };
}

/** runs `fn` over items with at most `concurrency` in flight (preparation work, not measured) */
export async function parallel<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}
