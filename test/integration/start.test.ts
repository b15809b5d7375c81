// `npm start` as a user runs it: the embedded PostgreSQL in the data dir, the CLI beside a running server,
// graceful shutdown, persistence across restarts, and a stale lock left by a crash.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { TEST_COOKIE_KEY, TEST_ENCRYPTION_KEYS } from '../helpers/config.ts';
import { freePort } from '../helpers/server.ts';

function env(dataDir: string, port: number, pgPort: number): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, GATEHOUSE_DATA_DIR: dataDir, PORT: String(port), GATEHOUSE_EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'warn' };
  delete e.DATABASE_URL;
  delete e.UV_THREADPOOL_SIZE; // bin/start.cjs sets it
  return e;
}

function start(e: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['bin/start.cjs'], { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    child.stdout!.on('data', () => {
      if (out.includes('Gatehouse is running at')) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
}

function cli(e: NodeJS.ProcessEnv, args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/gatehouse.js', ...args], { env: e });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(stdin ?? '');
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

test('npm start on the embedded database: serves, CLI works beside it, SIGTERM shuts down cleanly, data persists', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-start-'));
  chmodSync(dataDir, 0o755);
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const e = env(dataDir, port, await freePort());

  const first = await start(e);
  t.after(() => void first.child.kill('SIGKILL'));
  assert.match(first.output(), /npx gatehouse user create/, 'the banner says how to create the first user');
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  assert.equal(ready.status, 200);
  const created = await cli(e, ['user', 'create', '--email', 'first@example.com', '--password-stdin', '--json'], 'correct horse battery staple\n');
  assert.equal(created.code, 0, created.stderr);
  assert.equal(JSON.parse(created.stdout).email, 'first@example.com');
  const secrets = path.join(dataDir, 'secrets.json');
  assert.equal((await import('node:fs')).statSync(secrets).mode & 0o777, 0o600);

  first.child.kill('SIGTERM');
  assert.equal(await stopped(first.child), 0, 'graceful shutdown exits 0');
  assert.ok(!existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 'the embedded PostgreSQL was stopped');

  const again = await cli(e, ['user', 'create', '--email', 'first@example.com', '--json'], '');
  assert.equal(again.code, 1, 'the user from the first run is still there');
  assert.match(again.stderr, /already exists/);
});

test('embedded-postgres-stale-lock: a postmaster.pid left by a crash does not stop the next start', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-stale-'));
  chmodSync(dataDir, 0o755);
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const e = env(dataDir, await freePort(), await freePort());
  assert.equal((await cli(e, ['migrate'])).code, 0);
  // what a crashed server leaves behind: a lock naming a process that no longer exists
  mkdirSync(path.join(dataDir, 'pg'), { recursive: true });
  writeFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), `999999\n${dataDir}/pg\n0\n5432\n`);
  const res = await cli(e, ['keys', 'list', '--json']);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(JSON.parse(res.stdout).keys.length, 2);
});

test('production refuses generated secrets', async () => {
  const res = await cli({ ...process.env, NODE_ENV: 'production', DATABASE_URL: 'postgres://x@127.0.0.1:1/x', GATEHOUSE_ISSUER: 'https://sso.example.com', GATEHOUSE_COOKIE_KEYS: '', GATEHOUSE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS }, ['migrate']);
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /GATEHOUSE_COOKIE_KEYS/);
  void TEST_COOKIE_KEY;
});

test('a data dir below a private folder (a checkout under /root) still gets an embedded database when run as root', { skip: process.getuid?.() !== 0 && 'needs root' }, async (t) => {
  const outer = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-private-'));
  chmodSync(outer, 0o700); // like /root: the postgres user cannot walk through it
  const dataDir = path.join(outer, 'project', '.gatehouse');
  const { clusterDir } = await import('../../src/db/embedded.ts');
  const cluster = clusterDir(dataDir);
  t.after(() => {
    rmSync(outer, { recursive: true, force: true });
    rmSync(path.dirname(cluster), { recursive: true, force: true });
  });
  assert.ok(cluster.startsWith('/var/tmp/gatehouse-'), cluster);
  const res = await cli(env(dataDir, await freePort(), await freePort()), ['keys', 'list', '--json']);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(JSON.parse(res.stdout).keys.length, 2);
  assert.ok(existsSync(path.join(cluster, 'PG_VERSION')), 'the cluster lives where the postgres user can reach it');
});
