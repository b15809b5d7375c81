// The multi-node rig: N real Gatehouse processes (`node bin/start.cjs`) behind HAProxy (round-robin, no stickiness,
// health check GET /readyz, retry + redispatch on refused connections), all sharing one PostgreSQL through PgBouncer
// in transaction pooling. Config files are generated in a temp dir; every process runs in the foreground as our
// child, on loopback ports, and is killed when the test ends — or when this process exits, whatever the reason.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { createServices, type Services } from '../../src/container.ts';
import { createDb, type Database } from '../../src/db/database.ts';
import { testConfig, TEST_COOKIE_KEY, TEST_ENCRYPTION_KEYS } from '../helpers/config.ts';
import { newDatabase } from '../helpers/db.ts';
import { freePort } from '../helpers/net.ts';
import { PIN_HEADER, SERVED_BY, writeBouncerConfig, writeProxyConfig } from './rig-config.ts';

export { PIN_HEADER, SERVED_BY };

const live = new Set<ChildProcess>();
// a test that throws past its hooks, or a runner that gives up on it, must not leave processes behind
const killAll = () => {
  for (const c of live) signalGroup(c, 'SIGKILL');
};

/**
 * A signal to the child's whole process group (each child leads its own). A node with a clock offset runs under
 * `faketime`, which forks the node and waits for it: a signal to faketime alone would leave the node running.
 */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}
process.on('exit', killAll);
// the runner stopping this file (Ctrl-C, a timeout): no 'exit' event comes without these
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; log: string }): ChildProcess {
  const fd = openSync(opts.log, 'a');
  const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  signalGroup(child, signal);
  const force = setTimeout(() => signalGroup(child, 'SIGKILL'), 3000);
  await exited;
  clearTimeout(force);
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, seconds = 30, everyMs = 200): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    let v: T | undefined;
    try {
      v = await fn();
    } catch {
      v = undefined;
    }
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function answers(url: string, status = 200): Promise<true | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === status ? true : undefined;
}

export interface RigNode {
  name: string;
  port: number;
  /** the node's own address (bypassing the proxy) */
  url: string;
  log: string;
  alive(): boolean;
  /** kill -9: no shutdown, connections dropped mid-request */
  kill(): Promise<void>;
  /** starts the node again (same port, same settings) and waits until it is ready */
  restart(): Promise<void>;
  /** headers that pin a request to this node */
  pin: Record<string, string>;
}

export interface RigOptions {
  nodes?: 2 | 3;
  /** direct URL of the database the nodes share (PgBouncer points at it); default a fresh clone of the template */
  databaseUrl: string;
  /** extra environment of every node */
  env?: Record<string, string>;
  /** per node (by index): a faketime offset such as '+20s' or '-20s' */
  clockOffsets?: (string | undefined)[];
  /** PgBouncer: server connections for the database, and how long a client may wait for one (seconds) */
  bouncer?: { poolSize?: number; queryWaitTimeout?: number };
  /** each node's own pool size (GATEHOUSE_DB_POOL_MAX) */
  nodePoolMax?: number;
}

export interface Rig {
  /** the proxy: the issuer every node shares */
  url: string;
  nodes: RigNode[];
  databaseUrl: string;
  /** the database through PgBouncer, as the nodes reach it */
  bouncerUrl: string;
  /** services of the test itself on a direct connection (set-up and checks; they never serve requests) */
  services: Services;
  db: Kysely<Database>;
  /** the node that answered, from HAProxy's x-served-by header */
  servedBy(res: { headers: Headers }): string;
  /** stops every process (also done after the test) */
  stop(): Promise<void>;
}

export async function startRig(t: { after(fn: () => Promise<void>): void }, opts: RigOptions): Promise<Rig> {
  const count = opts.nodes ?? 2;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-rig-'));
  // PgBouncer refuses to run as root and then runs as "nobody", which must read its files
  chmodSync(dir, 0o755);
  const direct = new URL(opts.databaseUrl);
  const dbName = direct.pathname.slice(1);
  const [proxyPort, bouncerPort, ...nodePorts] = await Promise.all(Array.from({ length: 2 + count }, () => freePort()));
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const user = decodeURIComponent(direct.username);
  const password = decodeURIComponent(direct.password);

  const children: { bouncer?: ChildProcess; proxy?: ChildProcess; nodes: (ChildProcess | undefined)[] } = { nodes: [] };
  const db = createDb(opts.databaseUrl, { max: 4, applicationName: 'gatehouse-test' });
  const stop = async () => {
    await Promise.all(children.nodes.map((c) => stopChild(c)));
    await stopChild(children.proxy);
    await stopChild(children.bouncer, 'SIGINT');
    await db.destroy();
    if (!process.env.GATEHOUSE_RIG_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  t.after(stop);

  // ---- PgBouncer: transaction pooling; a client waits at most query_wait_timeout for a server connection
  writeBouncerConfig(dir, { dbName, pgPort: Number(direct.port), port: bouncerPort!, user, password, ...opts.bouncer });
  const asRoot = process.getuid?.() === 0;
  children.bouncer = run('/usr/sbin/pgbouncer', [...(asRoot ? ['-u', 'nobody'] : []), path.join(dir, 'pgbouncer.ini')], { log: path.join(dir, 'pgbouncer.log') });
  const bouncerUrl = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${bouncerPort}/${dbName}`;

  // ---- Gatehouse nodes
  const nodes: RigNode[] = [];
  const startNode = (i: number) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      PORT: String(nodePorts[i]),
      HOST: '127.0.0.1',
      GATEHOUSE_ISSUER: proxyUrl,
      DATABASE_URL: bouncerUrl,
      GATEHOUSE_COOKIE_KEYS: TEST_COOKIE_KEY,
      GATEHOUSE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      GATEHOUSE_DATA_DIR: path.join(dir, `node${i}`),
      GATEHOUSE_ARGON2_MEMORY_KIB: '1024',
      GATEHOUSE_ARGON2_TIME_COST: '1',
      GATEHOUSE_DB_POOL_MAX: String(opts.nodePoolMax ?? 10),
      UV_THREADPOOL_SIZE: '8',
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '1048576',
      LOG_LEVEL: 'warn',
      ...opts.env,
    };
    const offset = opts.clockOffsets?.[i];
    const log = path.join(dir, `node${i}.log`);
    // faketime (libfaketime) shifts the node's wall clock only: monotonic timers keep running normally
    children.nodes[i] = offset
      ? run('/usr/bin/faketime', ['-f', offset, process.execPath, 'bin/start.cjs'], { env: { ...env, FAKETIME_DONT_FAKE_MONOTONIC: '1' }, log })
      : run(process.execPath, ['bin/start.cjs'], { env, log });
  };
  for (let i = 0; i < count; i++) {
    mkdirSync(path.join(dir, `node${i}`));
    const name = `n${i}`;
    const url = `http://127.0.0.1:${nodePorts[i]}`;
    nodes.push({
      name,
      port: nodePorts[i]!,
      url,
      log: path.join(dir, `node${i}.log`),
      alive: () => {
        const c = children.nodes[i];
        return !!c && c.exitCode === null && c.signalCode === null;
      },
      kill: () => stopChild(children.nodes[i], 'SIGKILL'),
      restart: async () => {
        await stopChild(children.nodes[i], 'SIGKILL');
        startNode(i);
        await waitFor(`${name} ready`, () => answers(`${url}/readyz`), 60);
      },
      pin: { [PIN_HEADER]: name },
    });
  }
  // one node prepares the database first (migrations, first signing keys, built-in clients), then the others join
  startNode(0);
  await waitFor('n0 ready', () => answers(`${nodes[0]!.url}/readyz`), 90);
  for (let i = 1; i < count; i++) startNode(i);
  await Promise.all(nodes.slice(1).map((n) => waitFor(`${n.name} ready`, () => answers(`${n.url}/readyz`), 90)));

  // ---- HAProxy: round-robin per request, no stickiness; a refused connection is retried on another node
  writeProxyConfig(dir, { port: proxyPort!, nodes });
  children.proxy = run('/usr/sbin/haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], { log: path.join(dir, 'haproxy.log') });
  // every node in rotation: as many good answers in a row as there are nodes, each from a different one
  await waitFor('every node behind the proxy', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < count * 2; i++) {
      const res = await fetch(`${proxyUrl}/readyz`);
      await res.arrayBuffer();
      if (res.status !== 200) return undefined;
      seen.add(res.headers.get(SERVED_BY) ?? '');
    }
    return seen.size === count ? true : undefined;
  }, 30);

  const config = testConfig({ DATABASE_URL: opts.databaseUrl, GATEHOUSE_ISSUER: proxyUrl, ...opts.env });
  const services = createServices(config, db);
  return {
    url: proxyUrl,
    nodes,
    databaseUrl: opts.databaseUrl,
    bouncerUrl,
    services,
    db,
    servedBy: (res) => res.headers.get(SERVED_BY) ?? '?',
    stop,
  };
}

/** the last lines of a node's log, for an assertion message */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * A rig shared by the tests of one file: `{ after }` for startRig whose cleanups run (last registered first) when
 * the file's tests are over. node:test runs an `after` registered inside a `before` hook too early.
 */
export function fileScope(register: (fn: () => Promise<void>) => void): { after(fn: () => Promise<void>): void } {
  const cleanups: (() => Promise<void>)[] = [];
  register(async () => {
    for (const fn of cleanups) await fn().catch((err) => console.error('cleanup failed:', err));
  });
  return { after: (fn) => void cleanups.unshift(fn) };
}

/** a rig on a fresh clone of the migrated template database, dropped after the rig stops */
export async function rigOnFreshDatabase(t: { after(fn: () => Promise<void>): void }, opts: Omit<RigOptions, 'databaseUrl'>): Promise<Rig> {
  const db = await newDatabase();
  t.after(() => db.drop());
  return startRig(t, { ...opts, databaseUrl: db.url });
}
