// One measured window: wait until our own processes are quiet, then run the load and record around it the CPU
// seconds of the server, of PostgreSQL and of the load generator, our server's PostgreSQL round trips and, with
// `--cpu-prof`, a CPU profile of our server.
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { ServerChild } from './child.ts';
import { CPU_PROF, progress, resultsDir, RUN_ID } from './options.ts';
import { cpuSeconds, postgresCpuSeconds, settle } from './procstat.ts';
import { round } from './stats.ts';

export const profileDir = path.join(resultsDir, 'profiles', RUN_ID);

export function createMeasure(ours: ServerChild, others: (ServerChild | undefined)[], pmPid: number) {
  const all = [ours, ...others].filter((c): c is ServerChild => !!c);
  const ownCpu = () => postgresCpuSeconds(pmPid) + all.reduce((s, c) => s + cpuSeconds(c.pid), 0);
  /** `opts.profile`: the file name (without extension) of this window's CPU profile of our server, with `--cpu-prof` */
  return async function measure<T extends { ok?: number; n?: number }>(server: ServerChild | undefined, fn: () => Promise<T>, opts: { roundTrips?: boolean; profile?: string } = {}) {
    const settleS = await settle(ownCpu);
    // PostgreSQL round trips of our server per operation (background jobs included: key poll, outbox)
    const countTrips = opts.roundTrips ?? server === ours;
    const profile = CPU_PROF && opts.profile ? path.join(profileDir, `${opts.profile}.cpuprofile`) : undefined;
    const q0 = countTrips ? (await ours.roundTrips()).total : 0;
    if (profile) {
      mkdirSync(profileDir, { recursive: true });
      await ours.profileStart();
    }
    const c0 = { server: server ? cpuSeconds(server.pid) : 0, pg: postgresCpuSeconds(pmPid), gen: process.cpuUsage() };
    const result = await fn();
    const gen = process.cpuUsage(c0.gen);
    const serverS = server ? cpuSeconds(server.pid) - c0.server : 0;
    const pgS = postgresCpuSeconds(pmPid) - c0.pg;
    if (profile) {
      await ours.profileStop(profile);
      progress(`CPU profile of our server: ${path.relative(process.cwd(), profile)}`);
    }
    const q1 = countTrips ? (await ours.roundTrips()).total : 0;
    for (const c of all) {
      const crash = c.crashed();
      if (crash) throw new Error(crash);
    }
    const ops = result.ok ?? result.n ?? 0;
    const perOp = (seconds: number) => (ops > 0 ? round((seconds * 1000) / ops, 3) : null);
    const cpu = {
      settle_s: round(settleS, 2),
      ...(server ? { server_cpu_ms_per_op: perOp(serverS) } : {}),
      pg_cpu_ms_per_op: perOp(pgS),
      loadgen_cpu_ms_per_op: perOp((gen.user + gen.system) / 1e6),
      ...(countTrips ? { pg_round_trips_per_op: ops > 0 ? round((q1 - q0) / ops, 2) : null } : {}),
      ...(profile ? { cpu_profile: path.relative(process.cwd(), profile) } : {}),
    };
    return { result, cpu };
  };
}

export type Measure = ReturnType<typeof createMeasure>;
