// S1 (`npm run bench -- --seed N`): does a sign-in slow down when the directory grows? Two databases on one
// PostgreSQL, seeded alike (bench/lib/seed.ts) — 1,000 users in 10 organizations, and N users in N/100 — each
// served by its own server child; rounds alternate between them (A/B, then B/A). S1 = whole sign-in p50 (code + PKCE,
// LOGIN_INFLIGHT in flight, as T2 measures it) on the large one ÷ on the small one, as random password-only users of
// each. Before the rounds, the statements of one sign-in (password only, and with an authenticator code), code
// redemption, userinfo, refresh and client_credentials grant on the large database are EXPLAINed with ANALYZE and BUFFERS (bench/lib/plans.ts); a sequential scan of a
// large table is reported (and fails the run with BENCH_STRICT=1).
import path from 'node:path';
import { sql } from 'kysely';
import { request } from 'undici';
import { agent, basicAuth, fullLogin, fullLoginTotp, TotpUsers, type Rp } from './lib/browser.ts';
import { freePort, startServerChild } from './lib/child.ts';
// @ts-expect-error plain JavaScript without declarations (bin/ is not compiled)
import { ensureBuilt } from '../bin/build.js';
import { benchEnv } from './lib/config.ts';
import { closedLoop, parallel } from './lib/load.ts';
import { createMeasure } from './lib/measure.ts';
import { CORES, elapsedS, emit, LOGIN_INFLIGHT, loadAverage, loadFields, progress, QUICK, ROUNDS, STRICT, WINDOW, writeResults } from './lib/options.ts';
import { explainStatements } from './lib/plans.ts';
import { postmasterPid } from './lib/procstat.ts';
import { orgCount, passwordOnlyUser, scaleEmail, scalePassword, seedPopulation } from './lib/seed.ts';
import { createDatabase, prepareBenchDatabase, redirectUri, startBenchDatabase, type BenchClient } from './lib/setup.ts';
import { createDb } from '../src/db/database.ts';
import { round } from './lib/stats.ts';
import { targetResult } from './lib/summary.ts';
import type { Track } from './run.ts';

const SMALL = 1_000;

async function tokenPost(issuer: string, client: BenchClient, body: string) {
  const res = await request(`${issuer}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(client.clientId, client.clientSecret) },
    body,
    dispatcher: agent,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`token request: status ${res.statusCode}: ${text.slice(0, 200)}`);
}

export async function runScale(track: Track, users: number): Promise<number> {
  if (users < SMALL) throw new Error(`--seed must be at least ${SMALL} (the small population S1 compares with)`);
  const window = WINDOW * 2; // a p50 wants more sign-ins than a rate does
  progress(`S1: ${users.toLocaleString('en')} users in ${orgCount(users).toLocaleString('en')} organizations vs ${SMALL} in ${orgCount(SMALL)}; ${ROUNDS} rounds of ${window} s windows, ${LOGIN_INFLIGHT} in flight`);
  if (ensureBuilt()) progress('built dist/');
  const bench = track(await startBenchDatabase({ totpUsers: 1 }));
  const largePort = await freePort();
  const largeUrl = await createDatabase(bench, 'gatehouse_bench_large');
  const large = { url: largeUrl, port: largePort, ...(await prepareBenchDatabase(largeUrl, largePort, { totpUsers: 1 })) };
  const small = { url: bench.pg.url, port: bench.ourPort, web: bench.web, machine: bench.machine };

  // seeding: both populations the same way; the authenticator secrets are a copy of one real sealed secret
  const seeded: Record<string, { orgs: number; seconds: number }> = {};
  for (const [name, db, n] of [['small', small.url, SMALL], ['large', large.url, users]] as const) {
    const kdb = createDb(db, { max: 1 });
    try {
      const { secret_sealed } = await kdb.selectFrom('totp_credentials').select('secret_sealed').executeTakeFirstOrThrow();
      seeded[name] = await seedPopulation(kdb, n, { sealedTotpSecret: secret_sealed, progress });
      const { bytes } = (await sql<{ bytes: string }>`SELECT pg_database_size(current_database())::text AS bytes`.execute(kdb)).rows[0]!;
      emit({ name: 'seed', round: 0, population: name, users: n, organizations: seeded[name]!.orgs, seconds: round(seeded[name]!.seconds, 1), database_mib: round(Number(bytes) / 2 ** 20, 1) });
    } finally {
      await kdb.destroy();
    }
  }

  const start = (name: string, db: { url: string; port: number }, env: Record<string, string> = {}) =>
    startServerChild(name, 'serve-gatehouse.js', db.port, { BENCH_CONFIG_ENV: JSON.stringify(benchEnv(db.url, db.port)), ...env }).then(track);
  const [smallServer, largeServer] = await Promise.all([start('gatehouse (1,000 users)', small), start(`gatehouse (${users} users)`, large, { BENCH_CAPTURE_STATEMENTS: '1' })]);
  const rpOf = (origin: string, web: BenchClient): Rp => ({ issuer: origin, clientId: web.clientId, clientSecret: web.clientSecret, redirectUri });
  const sides = [
    { name: 'small', users: SMALL, server: smallServer, rp: rpOf(smallServer.origin, small.web), machine: small.machine },
    { name: 'large', users, server: largeServer, rp: rpOf(largeServer.origin, large.web), machine: large.machine },
  ];
  const signIn = (side: (typeof sides)[number]) => {
    const i = passwordOnlyUser(side.users);
    return fullLogin(side.rp, { email: scaleEmail(i), password: scalePassword(i) });
  };
  for (const side of sides) await parallel(4 * LOGIN_INFLIGHT, LOGIN_INFLIGHT, () => signIn(side)); // warm-up
  progress('warmed up');

  // the statements of each hot path on the large database, EXPLAINed there
  const L = sides[1]!;
  await largeServer.statements(); // forget the warm-up's
  const tokens = await signIn(L);
  await request(`${L.rp.issuer}/oidc/me`, { headers: { authorization: `Bearer ${tokens.access_token}` }, dispatcher: agent }).then((r) => r.body.text());
  await tokenPost(L.rp.issuer, L.rp, `grant_type=refresh_token&refresh_token=${encodeURIComponent(tokens.refresh_token!)}`);
  await tokenPost(L.rp.issuer, L.machine, 'grant_type=client_credentials&scope=api');
  await fullLoginTotp(L.rp, new TotpUsers(large.totpUsers)); // the authenticator-code step
  const plans = await explainStatements(largeUrl, await largeServer.statements());
  for (const p of plans) emit({ name: 'plan', round: 0, ...p });
  const seqScans = plans.filter((p) => p.seq_scans.length).map((p) => `${p.seq_scans.join(', ')}: ${p.statement}`);
  const slowest = [...plans].sort((a, b) => (b.ms || 0) - (a.ms || 0)).slice(0, 5).map((p) => ({ ms: p.ms, statement: p.statement.slice(0, 120) }));
  progress(`EXPLAIN (ANALYZE, BUFFERS): ${plans.length} statements, ${seqScans.length} with a sequential scan of a large table${seqScans.length ? `:\n  ${seqScans.join('\n  ')}` : ''}`);

  const measure = createMeasure(largeServer, [smallServer], postmasterPid(path.join(bench.tmp, 'pg')));
  const perRound: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const order = r % 2 ? sides : [...sides].reverse();
    const p50: Record<string, number> = {};
    for (const side of order) {
      const { result, cpu } = await measure(side.server, () => closedLoop(LOGIN_INFLIGHT, window, async () => void (await signIn(side))), { profile: `S1-${side.name}-r${r}` });
      p50[side.name] = result.p50_ms;
      emit({ name: `sign_in_${side.name}`, round: r, users: side.users, inflight: LOGIN_INFLIGHT, ...loadFields(result), ...cpu });
    }
    perRound.push(p50.large! / p50.small!);
    progress(`round ${r}/${ROUNDS}: sign-in p50 ${p50.small!.toFixed(1)} ms at ${SMALL} users, ${p50.large!.toFixed(1)} ms at ${users.toLocaleString('en')}`);
  }

  const s1 = targetResult('S1', perRound);
  const summary = {
    name: 'summary',
    all_pass: s1.pass && seqScans.length === 0,
    targets: { S1: s1 },
    users,
    organizations: orgCount(users),
    seed_seconds: round(seeded.large!.seconds, 1),
    explained_statements: plans.length,
    sequential_scans_of_large_tables: seqScans,
    slowest_statements: slowest,
    rounds: ROUNDS,
    window_s: window,
    quick: QUICK,
    cores: CORES,
    node: process.version,
    load_average_end: loadAverage(),
    elapsed_s: elapsedS(),
  };
  writeResults(summary);
  return STRICT && !summary.all_pass ? 1 : 0;
}
