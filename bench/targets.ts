// T1–T8 (`npm run bench`): each a ratio against a baseline measured in the same run, baseline and ours interleaved
// per round (A/B/A/B…).
//
//   B_argon   raw argon2.verify/s at the production parameters, in-flight = cores      (child process)
//   B_lib_cc  bare oidc-provider, in-memory adapter, client_credentials/s, opaque AT    (child process)
//   T1  password step/s at 4 in flight ÷ B_argon                                        goal ≥ 0.85
//   T2  full interactive logins/s (auth → page → POST → redirects → /token) ÷ B_argon  goal ≥ 0.65
//   T3  full logins with an authenticator code/s ÷ T2's rate                            goal ≥ 0.90
//   T4  our client_credentials/s with an ES256 JWT AT ÷ bare oidc-provider with JWT AT goal ≥ 0.50
//   T4b our client_credentials/s (opaque AT in PostgreSQL) ÷ B_lib_cc                   goal ≥ 0.25
//   T5  our refresh_token grant/s (rotation + ES256 ID token) ÷ B_lib_cc                goal ≥ 0.15
//   T6  token-endpoint p99 during a sign-in flood ÷ idle p99                            goal ≤ 3
//   T7  POST /interaction/:uid/login p50 at 1 in flight ÷ single argon2 verify p50     goal ≤ 1.15 (the two alternate)
//   T8  our RSS after the load ÷ the bare provider's RSS after its load                 goal ≤ 1.5
// Our server runs the built code (dist/), as `npm start` does; each of its measurements carries the PostgreSQL
// round trips per operation.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { agent, fullLogin, TotpUsers, type Credentials, type Rp } from './lib/browser.ts';
import { ccLoad, fullLogins, fullLoginsTotp, loginLatency, passwordStep, prepareLogins, RefreshChains, tokenUnderFlood } from './lib/figures.ts';
import { freePort, runJsonChild, startLineChild, startServerChild } from './lib/child.ts';
// @ts-expect-error plain JavaScript without declarations (bin/ is not compiled)
import { ensureBuilt } from '../bin/build.js';
import { benchEnv } from './lib/config.ts';
import { createMeasure } from './lib/measure.ts';
import {
  ARGON_INFLIGHT, CC_INFLIGHT, CORES, elapsedS, emit, LOGIN_INFLIGHT, loadAverage, loadFields, MAX_ERROR_SHARE, measurements, progress, ROUNDS, STRICT, TOTP_USERS, WARMUP, WINDOW, writeResults,
} from './lib/options.ts';
import { benchEmail, benchPassword, benchResource, redirectUri, startBenchDatabase } from './lib/setup.ts';
import { parallel, type LoadResult } from './lib/load.ts';
import { postmasterPid } from './lib/procstat.ts';
import { round } from './lib/stats.ts';
import { summarize } from './lib/summary.ts';
import type { Track } from './run.ts';

export async function runTargets(track: Track): Promise<number> {
  progress(`window ${WINDOW}s, ${ROUNDS} rounds, warm-up ${WARMUP}s, ${CORES} cores, cc in flight ${CC_INFLIGHT}, login in flight ${LOGIN_INFLIGHT}, argon in flight ${ARGON_INFLIGHT}`);
  const roundsData: Record<string, number>[] = [];
  /** PostgreSQL round trips per operation of our server, per round (the password step, a whole sign-in, cc, refresh) */
  const roundTrips: Record<'T1' | 'T2' | 'T4b' | 'T5', number[]> = { T1: [], T2: [], T4b: [], T5: [] };
  // our server child runs the built code, as `npm start` does
  if (ensureBuilt()) progress('built dist/');
  // PostgreSQL, database, migrations, signing keys, one user, two clients
  const bench = track(await startBenchDatabase({ totpUsers: TOTP_USERS }));
  const { pg, tmp, ourPort } = bench;
  const webClient = bench.web;
  const ccClient = bench.machine;
  const barePort = await freePort();
  progress(`PostgreSQL on ${new URL(pg.url).port}, database migrated`);

  const bareSecret = randomBytes(32).toString('base64url');
  const [ours, bare] = await Promise.all([
    startServerChild('gatehouse', 'serve-gatehouse.js', ourPort, { BENCH_CONFIG_ENV: JSON.stringify(benchEnv(pg.url, ourPort)) }),
    startServerChild('bare oidc-provider', 'serve-bare.ts', barePort, { BENCH_CC_CLIENT_ID: 'bench-cc', BENCH_CC_CLIENT_SECRET: bareSecret }),
  ]);
  track(ours);
  track(bare);
  progress(`gatehouse pid ${ours.pid} on ${ours.port}, bare oidc-provider pid ${bare.pid} on ${bare.port}`);

  const rp: Rp = { issuer: ours.origin, clientId: webClient.clientId, clientSecret: webClient.clientSecret, redirectUri };
  const creds: Credentials = { email: benchEmail, password: benchPassword };
  const bareCc = (resource?: string) => ccLoad(bare.origin, '/token', 'bench-cc', bareSecret, WINDOW, CC_INFLIGHT, resource);
  const oursCc = (resource?: string, inflight = CC_INFLIGHT) => ccLoad(ours.origin, '/oidc/token', ccClient.clientId, ccClient.clientSecret, WINDOW, inflight, resource);
  const totpUsers = new TotpUsers(bench.totpUsers);

  // warm-up (not reported): JIT, connection pools, caches of both servers; seeds the refresh chains
  const seeds = await parallel(CC_INFLIGHT, LOGIN_INFLIGHT, () => fullLogin(rp, creds));
  const chains = new RefreshChains(rp, creds, seeds.map((t) => t.refresh_token!), [], CC_INFLIGHT);
  const spares = chains.spares;
  // a warm-up with errors means a broken setup: stop before measuring anything
  const warm = (what: string, r: LoadResult) => {
    if (r.errors > MAX_ERROR_SHARE * (r.ok + r.errors) || r.ok === 0) throw new Error(`warm-up of ${what}: ${r.errors} errors, ${r.ok} ok; first: ${r.firstError}`);
  };
  const warmS = Math.max(WARMUP, 0.5);
  warm('bare client_credentials', await ccLoad(bare.origin, '/token', 'bench-cc', bareSecret, warmS, CC_INFLIGHT));
  warm('bare client_credentials (JWT)', await ccLoad(bare.origin, '/token', 'bench-cc', bareSecret, warmS / 2, CC_INFLIGHT, benchResource));
  warm('our client_credentials', await ccLoad(ours.origin, '/oidc/token', ccClient.clientId, ccClient.clientSecret, warmS, CC_INFLIGHT));
  warm('our client_credentials (JWT)', await ccLoad(ours.origin, '/oidc/token', ccClient.clientId, ccClient.clientSecret, warmS / 2, CC_INFLIGHT, benchResource));
  warm('our sign-in with TOTP', await fullLoginsTotp(rp, totpUsers, Math.min(1, warmS / 2), LOGIN_INFLIGHT));
  warm('our refresh', await chains.load(warmS / 2));
  warm('our sign-in', await fullLogins(rp, creds, Math.min(2, warmS / 2), spares, LOGIN_INFLIGHT));
  progress('warmed up');

  const measure = createMeasure(ours, [bare], postmasterPid(path.join(tmp, 'pg')));

  type ArgonResult = { ops_per_s: number; n: number; p50_ms: number; p99_ms: number; inflight: number; params: unknown };
  const argonThroughput = () =>
    runJsonChild<ArgonResult>('argon2 baseline (throughput)', 'argon-baseline.ts', { BENCH_WINDOW: String(WINDOW), BENCH_INFLIGHT: String(ARGON_INFLIGHT), BENCH_MODE: 'throughput' });
  let lastArgon = 0;

  for (let r = 1; r <= ROUNDS; r++) {
    // each ratio's two sides are measured back to back: argon throughput → T1 → T2; T7's sides alternate request by request
    const prepared = await prepareLogins(rp, WINDOW, lastArgon, LOGIN_INFLIGHT);

    // A: argon2 throughput (its own process, as the server is)
    const { result: argon, cpu: argonCpu } = await measure(undefined, () => argonThroughput());
    lastArgon = argon.ops_per_s;
    emit({ name: 'B_argon', round: r, per_s: round(argon.ops_per_s, 1), n: argon.n, inflight: argon.inflight, p50_ms: round(argon.p50_ms, 2), params: argon.params, settle_s: argonCpu.settle_s });

    // B: the password step, then whole sign-ins
    const { result: step, cpu: stepCpu } = await measure(ours, () => passwordStep(creds, WINDOW, prepared.logins, LOGIN_INFLIGHT), { profile: `T1-login_password_step-r${r}` });
    emit({ name: 'login_password_step', round: r, inflight: LOGIN_INFLIGHT, ...loadFields(step), ...stepCpu, prepared: prepared.logins.length + step.ok + step.errors, prep_s: round(prepared.seconds, 2) });
    const { result: full, cpu: fullCpu } = await measure(ours, () => fullLogins(rp, creds, WINDOW, spares, LOGIN_INFLIGHT), { profile: `T2-login_full-r${r}` });
    emit({ name: 'login_full', round: r, inflight: LOGIN_INFLIGHT, ...loadFields(full), ...fullCpu });
    const { result: totp, cpu: totpCpu } = await measure(ours, () => fullLoginsTotp(rp, totpUsers, WINDOW, LOGIN_INFLIGHT), { profile: `T3-login_full_totp-r${r}` });
    emit({ name: 'login_full_totp', round: r, inflight: LOGIN_INFLIGHT, ...loadFields(totp), ...totpCpu });

    // A and B alternating, one at a time: an argon2 verify (its own process), then a login POST; for 2 windows, so
    // that each side has about as many as a window of its own would give (T7)
    const argonPaired = await startLineChild('argon2 baseline (paired)', 'argon-baseline.ts', { BENCH_MODE: 'paired' });
    const verifyOnce = () => argonPaired.ask<number>('verify', 'ms');
    const { result: lat, cpu: latCpu } = await measure(undefined, () => loginLatency(rp, creds, 2 * WINDOW, verifyOnce), { profile: `T7-login_latency-r${r}` }).finally(() => argonPaired.stop());
    const single = lat.argon;
    emit({ name: 'argon_single', round: r, p50_ms: round(single.p50_ms, 2), p99_ms: round(single.p99_ms, 2), n: single.n, paired_with: 'login_latency' });
    emit({
      name: 'login_latency',
      round: r,
      inflight: 1,
      p50_ms: round(lat.p50_ms, 2),
      p90_ms: round(lat.p90_ms, 2),
      n: lat.n,
      errors: lat.errors,
      valid: lat.n > 0 && lat.errors === 0,
      settle_s: latCpu.settle_s,
      ...(lat.firstError ? { first_error: lat.firstError } : {}),
    });

    // A: bare provider client_credentials; B: ours, then our refresh grant
    const { result: bcc, cpu: bccCpu } = await measure(bare, () => bareCc());
    emit({ name: 'B_lib_cc', round: r, inflight: CC_INFLIGHT, ...loadFields(bcc), ...bccCpu });
    const { result: occ, cpu: occCpu } = await measure(ours, () => oursCc(), { profile: `T4b-cc_opaque-r${r}` });
    emit({ name: 'cc_opaque', round: r, inflight: CC_INFLIGHT, ...loadFields(occ), ...occCpu });
    const { result: rt, cpu: rtCpu } = await measure(ours, () => chains.load(WINDOW), { profile: `T5-refresh-r${r}` });
    emit({ name: 'refresh', round: r, inflight: CC_INFLIGHT, ...loadFields(rt), ...rtCpu, reseeded: rt.reseeded });

    // A: bare provider client_credentials with an ES256 JWT access token; B: ours (T4)
    const { result: bjwt, cpu: bjwtCpu } = await measure(bare, () => bareCc(benchResource));
    emit({ name: 'B_lib_cc_jwt', round: r, inflight: CC_INFLIGHT, ...loadFields(bjwt), ...bjwtCpu });
    const { result: ojwt, cpu: ojwtCpu } = await measure(ours, () => oursCc(benchResource), { profile: `T4-cc_jwt-r${r}` });
    emit({ name: 'cc_jwt', round: r, inflight: CC_INFLIGHT, ...loadFields(ojwt), ...ojwtCpu });

    // T6: JWT client_credentials at a few in flight, idle, then while sign-ins keep every core hashing
    const isoInflight = 4;
    const { result: idle } = await measure(ours, () => tokenUnderFlood(() => oursCc(benchResource, isoInflight), undefined));
    emit({ name: 'token_idle', round: r, inflight: isoInflight, ...loadFields(idle) });
    const flood = async (stop: () => boolean) => {
      await Promise.all(Array.from({ length: ARGON_INFLIGHT * 2 }, async () => {
        while (!stop()) await fullLogin(rp, creds).catch(() => undefined);
      }));
    };
    const { result: busy } = await measure(ours, () => tokenUnderFlood(() => oursCc(benchResource, isoInflight), flood), { roundTrips: false });
    emit({ name: 'token_during_sign_in_flood', round: r, inflight: isoInflight, flood_inflight: ARGON_INFLIGHT * 2, ...loadFields(busy) });

    // memory after the load
    const oursRss = ours.rssKiB();
    const bareRss = bare.rssKiB();
    // where our RSS is: V8's heap (used and reserved), memory held for JavaScript objects outside it (external), the rest native
    const mem = await ours.memory();
    const mib = (b: number) => round(b / 1048576, 1);
    emit({ name: 'rss', round: r, gatehouse_mib: round(oursRss / 1024, 1), bare_mib: round(bareRss / 1024, 1),
      gatehouse_heap_used_mib: mib(mem.heapUsed), gatehouse_heap_total_mib: mib(mem.heapTotal), gatehouse_external_mib: mib(mem.external) });

    roundTrips.T1.push(stepCpu.pg_round_trips_per_op ?? NaN);
    roundTrips.T2.push(fullCpu.pg_round_trips_per_op ?? NaN);
    roundTrips.T4b.push(occCpu.pg_round_trips_per_op ?? NaN);
    roundTrips.T5.push(rtCpu.pg_round_trips_per_op ?? NaN);
    roundsData.push({
      T1: step.per_s / argon.ops_per_s,
      T2: full.per_s / argon.ops_per_s,
      T4b: occ.per_s / bcc.per_s,
      T3: totp.per_s / full.per_s,
      T4: ojwt.per_s / bjwt.per_s,
      T6: busy.p99_ms / idle.p99_ms,
      T5: rt.per_s / bcc.per_s,
      T7: lat.p50_ms / single.p50_ms,
      T8: oursRss / bareRss,
      B_argon: argon.ops_per_s,
      argon_single_p50_ms: single.p50_ms,
      B_lib_cc: bcc.per_s,
    });
    progress(
      `round ${r}/${ROUNDS}: B_argon ${argon.ops_per_s.toFixed(1)}/s, login ${step.per_s.toFixed(1)}/s, full ${full.per_s.toFixed(1)}/s, ` +
        `B_lib_cc ${bcc.per_s.toFixed(0)}/s, cc ${occ.per_s.toFixed(0)}/s, refresh ${rt.per_s.toFixed(0)}/s, p50 login ${lat.p50_ms.toFixed(1)} ms vs argon ${single.p50_ms.toFixed(1)} ms`,
    );
  }

  // summary: median of per-round ratios, min/max (bench/lib/summary.ts)
  const { targets, allPass, baselines, baselineSpreadOk, pgRoundTripsPerOp, invalid } = summarize(roundsData, roundTrips, measurements, { argonInflight: ARGON_INFLIGHT, ccInflight: CC_INFLIGHT });
  const summary = {
    name: 'summary',
    all_pass: allPass,
    targets,
    baselines,
    pg_round_trips_per_op: pgRoundTripsPerOp,
    baseline_spread_ok: baselineSpreadOk,
    invalid_measurements: invalid,
    rounds: ROUNDS,
    window_s: WINDOW,
    warmup_s: WARMUP,
    cores: CORES,
    uv_threadpool_size: 8,
    node: process.version,
    load_average_end: loadAverage(),
    elapsed_s: elapsedS(),
  };
  writeResults(summary);
  if (!baselineSpreadOk) progress('WARNING: a baseline varied by more than 30% across rounds: the machine was noisy, discard this run');
  if (invalid.length) progress(`WARNING: measurements with errors: ${invalid.join(', ')}`);
  return STRICT && (!allPass || !baselineSpreadOk || invalid.length) ? 1 : 0;
}
