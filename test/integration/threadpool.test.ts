// libuv's pool as `npm start` (bin/start.cjs) makes it: the size the README promises, and its threads (argon2's, and
// token signing's) below the thread that serves requests, so that a sign-in flood cannot starve the server.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { TEST_COOKIE_KEY, TEST_ENCRYPTION_KEYS } from '../helpers/config.ts';
import { newDatabase } from '../helpers/db.ts';
import { freePort } from '../helpers/server.ts';

/** nice value of each thread of `pid`, by thread id (Linux: /proc/<pid>/task/<tid>/stat, field 19) */
function threadNices(pid: number): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    nices.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return nices;
}

test('hashing-threads-yield-to-the-serving-thread: npm start makes a pool of 8 threads at nice +10, its serving thread keeps its priority', { skip: process.platform !== 'linux' && 'per-thread nice values are Linux only' }, async (t) => {
  const db = await newDatabase();
  t.after(() => db.drop());
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env, NODE_ENV: 'test', DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
    GATEHOUSE_COOKIE_KEYS: TEST_COOKIE_KEY, GATEHOUSE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS, LOG_LEVEL: 'silent', GATEHOUSE_DATA_DIR: path.join(os.tmpdir(), `gatehouse-pool-${port}`),
  };
  delete env.UV_THREADPOOL_SIZE; // what bin/start.cjs does without it is what is tested
  const child = spawn(process.execPath, ['bin/start.cjs'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const until = Date.now() + 60_000;
  while (!out.includes('Gatehouse is running at')) {
    assert.ok(Date.now() < until && child.exitCode === null, `the server did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // the worker thread that made the pool ends right after; give it a moment to be gone
  await new Promise((r) => setTimeout(r, 300));

  const base = os.getPriority(); // the child inherits this process's nice value
  const lowered = Math.min(19, base + 10);
  const nices = threadNices(child.pid!);
  assert.equal(nices.get(child.pid!), base, 'the thread that serves requests keeps its priority');
  const pool = [...nices.values()].filter((n) => n === lowered);
  assert.equal(pool.length, 8, `8 pool threads at nice ${lowered}; threads: ${JSON.stringify([...nices])}`);
  assert.ok(lowered > base || base === 19, 'the pool runs below the serving thread');
});
