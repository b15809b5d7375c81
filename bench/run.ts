// `npm run bench`: the performance targets of bench/README.md.
//
//   npm run bench                     T1–T8, each a ratio against a baseline measured in the same run (bench/targets.ts)
//   npm run bench -- --quick          the same with shorter windows, for iterating (under 2 minutes on a quiet box)
//   npm run bench -- --seed 1000000   S1: sign-in p50 with that many users in 1 organization per 100 users ÷ with 1,000
//                                     users, and EXPLAIN (ANALYZE, BUFFERS) of the hot statements at that size (bench/scale.ts)
//   npm run bench -- --sustain [s]    S2: provider rows after a sustained run ÷ rows live (bench/sustain.ts)
//   … --cpu-prof                      also a V8 CPU profile of our server per measured window (bench/lib/measure.ts);
//                                     `npm run bench:profile -- <file.cpuprofile>` lists its top self-time frames
// Every mode starts its own PostgreSQL in a fresh temporary directory (never the development database) and writes
// bench/results/<start time>.json.
//
// Env: BENCH_SECONDS (window, default 3), BENCH_ROUNDS (default 3), BENCH_WARMUP_SECONDS (default 4),
// BENCH_CC_INFLIGHT (32), BENCH_LOGIN_INFLIGHT (4), BENCH_ARGON_INFLIGHT (cores), BENCH_STRICT=1 (exit 1 when a
// target is missed, a baseline spread over 30% or a measurement had errors), BENCH_SERVER_NODE_ARGS (extra node
// flags for both server children, for diagnosis). The rest of the environment is passed to the children (e.g.
// MALLOC_ARENA_MAX=2 to try an allocator setting on all of them).
// stdout: one JSON line per measurement, then the summary line. Progress goes to stderr.
// Every child runs with UV_THREADPOOL_SIZE=8 (see bench/lib/child.ts); the machine is used unpinned ("box" numbers).
import { agent } from './lib/browser.ts';
import { progress, SEED, since, SUSTAIN_S } from './lib/options.ts';
import { runScale } from './scale.ts';
import { runSustain } from './sustain.ts';
import { runTargets } from './targets.ts';

/** registers what must be stopped when the run ends or is interrupted (servers, PostgreSQL) */
export type Track = <T extends { stop(): Promise<void> }>(thing: T) => T;

const owned: { stop(): Promise<void> }[] = [];
const track: Track = (thing) => {
  owned.push(thing);
  return thing;
};
let cleaning: Promise<void> | undefined;
// servers first (newest first), PostgreSQL last: a server stopping still talks to it
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const thing of owned.reverse()) await thing.stop().catch(() => {});
    await agent.close().catch(() => {});
  })());

let interrupted = false;
const onSignal = () => {
  if (interrupted) return;
  interrupted = true;
  progress('interrupted: cleaning up');
  void cleanup().finally(() => process.exit(130));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const seed = SEED;
const sustain = SUSTAIN_S;
const mode = (): Promise<number> => (seed !== undefined ? runScale(track, seed) : sustain !== undefined ? runSustain(track, sustain) : runTargets(track));

mode()
  .finally(cleanup)
  .then(
    (code) => {
      progress(`done in ${since()}s`);
      process.exit(code);
    },
    (err) => {
      if (interrupted) return; // the signal handler exits once the cleanup is done
      progress(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
