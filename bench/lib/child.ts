// Child processes of the bench: each server (and the argon2 baseline) runs in a process of its own, so that
// the load generator never shares an event loop with what it measures and RSS is separable.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const benchDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** every child gets the same threadpool size as `npm start` gives the server (argon2 and signing share it) */
// what `npm start` ships: threadpool of 8, two malloc arenas and a fixed 1 MiB mmap threshold (argon2's 19 MiB
// buffers are then mapped per hash and returned at its end, instead of pinned in glibc's heap per thread)
const CHILD_ENV = { UV_THREADPOOL_SIZE: '8', MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '1048576', LOG_LEVEL: 'silent', NODE_ENV: 'production' };

export { freePort } from '../../test/helpers/net.ts';

/**
 * our server's child starts as `npm start` does: libuv's pool made first, its threads below the serving thread
 * (bin/threadpool.cjs), and V8's heap growth held near what is live (bin/heap.cjs)
 */
const binFile = (name: string) => path.join(path.dirname(benchDir), 'bin', name);
const SERVER_PRELOADS: Record<string, string[]> = { 'serve-gatehouse.js': ['--require', binFile('threadpool.cjs'), '--require', binFile('heap.cjs')] };

/** extra node flags for the server children, for diagnosis only, e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" */
const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

function spawnTs(script: string, env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
  // node itself runs the script (tsx as a loader in-process for .ts; .js runs as is), so child.pid is the measured process
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  return spawn(process.execPath, [...nodeArgs, ...loader, path.join(benchDir, script)], {
    env: { ...process.env, ...CHILD_ENV, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: path.dirname(benchDir),
  });
}

function tail(buf: { text: string }, chunk: Buffer) {
  buf.text = (buf.text + chunk.toString()).slice(-8000);
}

export interface ServerChild {
  name: string;
  pid: number;
  port: number;
  origin: string;
  rssKiB(): number;
  /** PostgreSQL round trips the server made so far (our server only; bench/lib/roundtrips.ts) */
  roundTrips(): Promise<{ total: number; texts?: Record<string, number> }>;
  /** the statements sent since the last call, with the values of their last run (with BENCH_CAPTURE_STATEMENTS=1) */
  statements(): Promise<{ text: string; values: unknown[] }[]>;
  /** process.memoryUsage() of the server, bytes (our server only) */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** starts a V8 CPU profile in the server (our server only) */
  profileStart(): Promise<void>;
  /** stops it and writes it to `file` (.cpuprofile, as Chrome DevTools opens it) */
  profileStop(file: string): Promise<void>;
  /** set when the process exited without being asked to */
  crashed(): string | undefined;
  stop(): Promise<void>;
}

export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/**
 * A child that prints a line starting with "ready", then answers commands written to its stdin with one line each,
 * starting with the command's reply word, in order (the servers' "queries", "profile-start", …; the argon2 baseline's
 * "verify"). An ask still waiting when the child exits fails.
 */
export interface LineChild {
  pid: number;
  /** writes `command` and resolves with what follows `reply` on the child's answer line (JSON) */
  ask<T>(command: string, reply: string): Promise<T>;
  /** set when the process exited without being asked to */
  crashed(): string | undefined;
  stop(): Promise<void>;
}

export async function startLineChild(name: string, script: string, env: Record<string, string>, nodeArgs: string[] = [], timeoutMs = 60_000): Promise<LineChild> {
  const child = spawnTs(script, env, nodeArgs);
  const err = { text: '' };
  child.stderr!.on('data', (c: Buffer) => tail(err, c));
  // a write racing the child's end fails its ask (below), not the bench
  child.stdin!.on('error', () => undefined);
  let exited = false;
  let stopping = false;
  let crash: string | undefined;
  const waiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }[]>();
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      if (!stopping) crash = `${name} exited during the run (code ${code}, signal ${signal}); stderr: ${err.text}`;
      for (const queue of waiting.values()) for (const w of queue.splice(0)) w.reject(new Error(crash ?? `${name} has exited`));
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not print "ready" within ${timeoutMs} ms; stderr: ${err.text}`));
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal}); stderr: ${err.text}`));
    });
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const space = line.indexOf(' ');
    const word = space < 0 ? line : line.slice(0, space);
    const w = waiting.get(word)?.shift();
    if (w) w.resolve(space < 0 ? undefined : JSON.parse(line.slice(space + 1)));
  });
  child.stdout!.resume();
  return {
    pid: child.pid!,
    ask: <T>(command: string, reply: string) =>
      new Promise<T>((resolve, reject) => {
        if (exited) return reject(new Error(`${name} has exited`));
        if (!waiting.has(reply)) waiting.set(reply, []);
        waiting.get(reply)!.push({ resolve: resolve as (v: unknown) => void, reject });
        child.stdin!.write(`${command}\n`);
      }),
    crashed: () => crash,
    async stop() {
      stopping = true;
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    },
  };
}

/** starts a server script that prints "ready <port>" when it listens */
export async function startServerChild(name: string, script: string, port: number, env: Record<string, string>, timeoutMs = 60_000): Promise<ServerChild> {
  const c = await startLineChild(name, script, { ...env, BENCH_PORT: String(port) }, [...(SERVER_PRELOADS[script] ?? []), ...serverNodeArgs], timeoutMs);
  return {
    name,
    pid: c.pid,
    port,
    origin: `http://127.0.0.1:${port}`,
    rssKiB: () => rssKiB(c.pid),
    roundTrips: () => c.ask('queries', 'queries'),
    statements: () => c.ask('statements', 'statements'),
    memory: () => c.ask('memory', 'memory'),
    profileStart: () => c.ask('profile-start', 'profiling'),
    profileStop: (file: string) => c.ask(`profile-stop ${JSON.stringify(file)}`, 'profiled'),
    crashed: c.crashed,
    stop: c.stop,
  };
}

/** runs a script to completion and parses the last JSON line it printed */
export async function runJsonChild<T>(name: string, script: string, env: Record<string, string>): Promise<T> {
  const child = spawnTs(script, env);
  child.stdin!.end();
  const out = { text: '' };
  const err = { text: '' };
  child.stdout!.on('data', (c: Buffer) => tail(out, c));
  child.stderr!.on('data', (c: Buffer) => tail(err, c));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const last = out.text.trim().split('\n').pop() ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new Error(`${name} failed (exit ${code}); stderr: ${err.text}`);
  return JSON.parse(last) as T;
}

