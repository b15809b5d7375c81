// Scenarios 4, 5 and 6: the database goes away under a bounded mixed load through HAProxy and PgBouncer — restarted,
// its connections killed, its pool held — and comes back. During the fault every answer is a success or fails closed
// (503 + Retry-After; never a token without its row); afterwards the pools heal without restarting any node, and
// everything committed before the fault is still there.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from '../../src/db/database.ts';
import { startEmbeddedPostgres, type EmbeddedHandle } from '../../src/db/embedded.ts';
import { adminQuery } from '../helpers/db.ts';
import { freePort } from '../helpers/net.ts';
import { atCallback, client, startSignIn, submit, token, userWithTotp } from './flows.ts';
import { recoveryAfter, startLoad, type LoadResult } from './load.ts';
import { reportRow } from './report.ts';
import { rigOnFreshDatabase, startRig, tail, waitFor, type Rig } from './rig.ts';

/** what must survive: ids (and spent steps) of everything committed so far */
async function snapshot(db: Kysely<Database>) {
  const ids = async (q: Promise<{ id: string }[]>) => new Set((await q).map((r) => r.id));
  return {
    users: await ids(db.selectFrom('users').select('id').execute()),
    factors: new Map((await db.selectFrom('totp_credentials').select(['id', 'last_used_step']).execute()).map((r) => [r.id, Number(r.last_used_step)])),
    usedCodes: await ids(db.selectFrom('recovery_codes').select('id').where('used_at', 'is not', null).execute()),
    consumed: await ids(db.selectFrom('oidc_payloads').select('id').where('consumed_at', 'is not', null).execute()),
    audit: await ids(db.selectFrom('audit_events').select('id').execute()),
  };
}

async function assertNothingLost(before: Awaited<ReturnType<typeof snapshot>>, db: Kysely<Database>) {
  const now = await snapshot(db);
  for (const k of ['users', 'usedCodes', 'consumed', 'audit'] as const) {
    const missing = [...before[k]].filter((id) => !now[k].has(id));
    assert.deepEqual(missing, [], `every ${k} row committed before the fault is still there`);
  }
  for (const [id, step] of before.factors) assert.ok((now.factors.get(id) ?? -1) >= step, `factor ${id} keeps its spent step`);
  return now;
}

/** every 200 the load got has its row: never a token without its row */
async function assertEveryTokenHasItsRow(r: LoadResult, db: Kysely<Database>) {
  const ids = r.issued.map((t) => t.id);
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom('oidc_payloads').select('id').where('id', 'in', ids.slice(i, i + 500)).execute();
    for (const row of rows) found.add(row.id);
  }
  const orphans = r.issued.filter((t) => !found.has(t.id));
  assert.deepEqual(orphans.map((o) => o.model), [], 'every token handed out has its row');
}

function assertFailedClosed(name: string, r: LoadResult) {
  assert.deepEqual(r.tally.unclean, [], `${name}: every failure was a 503 with Retry-After`);
  assert.deepEqual(r.lostGrants, [], `${name}: no grant was lost to the fault`);
  assert.ok(r.tally.successes > 0, `${name}: the load got through`);
}

/** history to keep: a user with an authenticator (its spent step) who signed in with a recovery code (used code, audit rows) */
async function history(rig: Rig) {
  const user = await userWithTotp(rig);
  const c = await client(rig);
  const { browser, login } = await startSignIn(rig, c);
  const pw = await submit(rig, browser, login, '/login', { email: user.email, password: user.password }, undefined, atCallback(c));
  const done = await submit(rig, browser, await browser.get(pw.page.url.replace(/\/totp$/, '/recovery-code')), '/recovery-code', { code: user.recoveryCodes[0]! }, undefined, atCallback(c));
  assert.ok(done.page.status < 400, `recovery-code sign-in: ${done.page.status}`);
}

test('database-restart-fails-closed-and-heals: PostgreSQL restarted under load; 503 + Retry-After meanwhile, healed within 10 s, nothing lost', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-pg-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  let pgServer: EmbeddedHandle = await startEmbeddedPostgres({ dataDir: dir, port, database: 'gatehouse_restart' });
  t.after(async () => {
    await pgServer.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const rig = await startRig(t, { nodes: 2, databaseUrl: pgServer.url });
  await history(rig);
  const load = await startLoad(rig, { workers: 4, seconds: 25 });
  await new Promise((r) => setTimeout(r, 4000));
  const before = await snapshot(rig.db);
  const down = Date.now();
  await pgServer.stop(); // SIGINT: PostgreSQL's fast shutdown
  await new Promise((r) => setTimeout(r, 3000));
  pgServer = await startEmbeddedPostgres({ dataDir: dir, port, database: 'gatehouse_restart' });
  const up = Date.now();
  const healed = await waitFor('a node serving again', async () => ((await fetch(`${rig.url}/readyz`)).status === 200 ? Date.now() : undefined), 15, 100);
  const r = await load.done;
  const recovery = Math.max(recoveryAfter(r, up) ?? Infinity, (healed - up) / 1000);
  for (const n of rig.nodes) assert.ok(n.alive(), `${n.name} was not restarted: ${tail(n.log)}`);
  assertFailedClosed('restart', r);
  assert.ok(recovery <= 10, `healed within 10 s (${recovery} s)`);
  await assertNothingLost(before, rig.db);
  await assertEveryTokenHasItsRow(r, rig.db);
  reportRow({ scenario: '4 PostgreSQL restart under load', result: 'pass', requests: r.tally.requests, successes: r.tally.successes, fiveXx: r.tally.fiveXx, recoverySeconds: recovery, note: `down ${((up - down) / 1000).toFixed(1)} s; every 5xx a 503 + Retry-After; ${r.issued.length} tokens, each with its row` });
});

test('killed-connections-fail-closed-and-heal: pg_terminate_backend on all our connections under load; as a restart', async (t) => {
  const rig = await rigOnFreshDatabase(t, { nodes: 2 });
  const dbName = new URL(rig.databaseUrl).pathname.slice(1);
  await history(rig);
  const load = await startLoad(rig, { workers: 4, seconds: 15 });
  await new Promise((r) => setTimeout(r, 4000));
  const before = await snapshot(rig.db);
  // three rounds, half a second apart: every server connection PgBouncer holds for the nodes (and the test's own)
  for (let i = 0; i < 3; i++) {
    await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}' AND pid <> pg_backend_pid()`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const last = Date.now();
  const r = await load.done;
  const recovery = recoveryAfter(r, last);
  assertFailedClosed('terminate', r);
  assert.ok(recovery !== undefined && recovery <= 10, `healed within 10 s (${recovery} s)`);
  for (const n of rig.nodes) assert.ok(n.alive(), `${n.name} still running`);
  await assertNothingLost(before, rig.db);
  await assertEveryTokenHasItsRow(r, rig.db);
  reportRow({ scenario: '5 connections killed under load', result: 'pass', requests: r.tally.requests, successes: r.tally.successes, fiveXx: r.tally.fiveXx, recoverySeconds: recovery, note: `3 rounds of pg_terminate_backend; ${r.issued.length} tokens, each with its row` });
});

test('pool-exhaustion-waits-boundedly: every pooled connection held; 503 + Retry-After within seconds, /healthz answers, then recovery', async (t) => {
  const POOL = 4;
  const rig = await rigOnFreshDatabase(t, { nodes: 2, bouncer: { poolSize: POOL, queryWaitTimeout: 2 } });
  const machine = await client(rig);
  const load = await startLoad(rig, { workers: 3, seconds: 16 });
  await new Promise((r) => setTimeout(r, 3000));
  // hold every server connection PgBouncer may open for the database: the nodes' queries queue behind them
  const holders = Array.from({ length: POOL }, () => new pg.Client({ connectionString: rig.bouncerUrl }));
  await Promise.all(holders.map((h) => h.connect()));
  const held = Promise.all(holders.map((h) => h.query('SELECT pg_sleep(6)').catch(() => undefined)));
  const start = Date.now();
  // while held: the slowest answer is bounded, the liveness probe answers at once
  const probe = async (url: string) => {
    const t0 = Date.now();
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after'), ms: Date.now() - t0 };
  };
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = Date.now();
  const tokenCall = await token(rig, machine, { grant_type: 'client_credentials' });
  const tokenMs = Date.now() - t0;
  const healthz = await Promise.all(rig.nodes.map((n) => probe(`${n.url}/healthz`)));
  const ready = await Promise.all(rig.nodes.map((n) => probe(`${n.url}/readyz`)));
  await held;
  const released = Date.now();
  await Promise.all(holders.map((h) => h.end()));
  const r = await load.done;
  for (const h of healthz) assert.ok(h.status === 200 && h.ms < 1000, `/healthz answers during the exhaustion: ${JSON.stringify(h)}`);
  for (const h of ready) assert.ok(h.status === 503 && h.retryAfter && h.ms < 5000, `/readyz says not ready, in bounded time: ${JSON.stringify(h)}`);
  assert.ok(tokenMs < 5000, `a token request waits boundedly (${tokenMs} ms)`);
  assert.ok(tokenCall.status === 503 && tokenCall.retryAfter, `… and fails closed: ${tokenCall.status} ${JSON.stringify(tokenCall.body)}`);
  assertFailedClosed('exhaustion', r);
  assert.ok(r.tally.clean503 > 0, 'the exhaustion was felt: some 503s');
  const recovery = recoveryAfter(r, released);
  assert.ok(recovery !== undefined && recovery <= 10, `recovered within 10 s (${recovery} s)`);
  reportRow({ scenario: '6 pool exhaustion', result: 'pass', requests: r.tally.requests, successes: r.tally.successes, fiveXx: r.tally.fiveXx, recoverySeconds: recovery, note: `PgBouncer pool ${POOL} held ${((released - start) / 1000).toFixed(0)} s; token request answered 503 in ${tokenMs} ms; /healthz ≤ ${Math.max(...healthz.map((x) => x.ms))} ms` });
});
