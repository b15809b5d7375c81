// CPU time of processes from procfs: the servers, and PostgreSQL (postmaster, its live children, and through
// cutime/cstime the children it has already reaped).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

let tck = 100;
try {
  tck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep the Linux default
}

/** fields after "(comm)": index 0 is field 3 (state) of proc(5) */
function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds used by a process; with `reaped`, also by its children that have exited */
export function cpuSeconds(pid: number, reaped = false): number {
  const f = statFields(pid);
  if (!f) return 0;
  const ticks = Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
  return ticks / tck;
}

export function postgresCpuSeconds(postmasterPid: number): number {
  let total = cpuSeconds(postmasterPid, true);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && Number(f[1]) === postmasterPid) total += (Number(f[11]) + Number(f[12])) / tck;
  }
  return total;
}

export function postmasterPid(pgDataDir: string): number {
  return Number(readFileSync(`${pgDataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
}

/**
 * Waits until the processes we own are quiet (leftovers of the previous window: autovacuum, checkpoints,
 * connection teardown), at most maxMs. Returns the seconds waited. Other tenants of the machine are not awaited.
 */
export async function settle(cpu: () => number, opts: { maxMs?: number; busyCores?: number; sampleMs?: number } = {}): Promise<number> {
  const maxMs = opts.maxMs ?? 3000;
  const busy = opts.busyCores ?? 0.05;
  const sampleMs = opts.sampleMs ?? 250;
  const start = performance.now();
  while (performance.now() - start < maxMs) {
    const c0 = cpu();
    const t0 = performance.now();
    await sleep(sampleMs);
    const used = cpu() - c0;
    if (used / ((performance.now() - t0) / 1000) < busy) break;
  }
  return (performance.now() - start) / 1000;
}
