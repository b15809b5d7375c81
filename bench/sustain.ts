// S2 (`npm run bench -- --sustain [seconds]`): do the provider's tables stay the size of what is live? Our server
// runs with lifetimes and purge interval both shortened 60-fold (TTL below, passed as BENCH_TTL; the product's own
// settings allow nothing this short), under a mixed load without pause: whole sign-ins, refresh chains and
// client_credentials grants with opaque access tokens. Every 5 s the orchestrator counts the rows of oidc_payloads,
// all of them and those not yet expired ("live": a consumed one-time value counts as live until it expires, since its
// row is what recognises a replay). S2 = the highest all ÷ live over the run; it stays near 1 when the purge keeps up
// and grows with the run when it does not. A few minutes of this run stand in for a few hours of production.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { fullLogin, type Rp } from './lib/browser.ts';
import { startServerChild } from './lib/child.ts';
// @ts-expect-error plain JavaScript without declarations (bin/ is not compiled)
import { ensureBuilt } from '../bin/build.js';
import { benchEnv } from './lib/config.ts';
import { ccLoad, RefreshChains } from './lib/figures.ts';
import { closedLoop, parallel } from './lib/load.ts';
import { createMeasure } from './lib/measure.ts';
import { CORES, elapsedS, emit, LOGIN_INFLIGHT, loadAverage, loadFields, progress, QUICK, STRICT, writeResults } from './lib/options.ts';
import { postmasterPid } from './lib/procstat.ts';
import { benchEmail, benchPassword, redirectUri, startBenchDatabase } from './lib/setup.ts';
import { createDb } from '../src/db/database.ts';
import { round } from './lib/stats.ts';
import { targetResult } from './lib/summary.ts';
import type { Track } from './run.ts';

/**
 * lifetimes in seconds, production's ÷ 60 like the purge interval (5 min → 5 s), so that the proportion that decides
 * S2 — expiries waiting for the next purge against what is live — is production's: access and ID tokens 1 h → 60 s,
 * client_credentials tokens 10 min → 10 s, sign-in pages and idle sessions 30 min → 30 s, sessions 12 h → 12 min.
 * Codes keep 5 s (1 s would expire between redirect and redemption). Refresh tokens and grants (30 days) get 60 s, so
 * that chains end within the run and new sign-ins start them again: the refresh measurement's errors are those ends.
 */
const TTL = {
  sessionSeconds: 720,
  sessionIdleSeconds: 30,
  interactionSeconds: 30,
  authorizationCodeSeconds: 5,
  accessTokenSeconds: 60,
  clientCredentialsSeconds: 10,
  idTokenSeconds: 60,
  refreshTokenSeconds: 60,
};
const PURGE_INTERVAL_S = 5;
const SAMPLE_EVERY_S = 5;
const REFRESH_INFLIGHT = 8;
const CC_INFLIGHT = 4;

export async function runSustain(track: Track, seconds: number): Promise<number> {
  progress(`S2: ${seconds} s of sign-ins (${LOGIN_INFLIGHT} in flight), refresh (${REFRESH_INFLIGHT}) and client_credentials (${CC_INFLIGHT}); lifetimes ${JSON.stringify(TTL)}, purge every ${PURGE_INTERVAL_S} s`);
  if (ensureBuilt()) progress('built dist/');
  const bench = track(await startBenchDatabase());
  const env = { ...benchEnv(bench.pg.url, bench.ourPort), GATEHOUSE_PURGE_INTERVAL_SECONDS: String(PURGE_INTERVAL_S) };
  const ours = track(await startServerChild('gatehouse', 'serve-gatehouse.js', bench.ourPort, { BENCH_CONFIG_ENV: JSON.stringify(env), BENCH_TTL: JSON.stringify(TTL) }));
  const rp: Rp = { issuer: ours.origin, clientId: bench.web.clientId, clientSecret: bench.web.clientSecret, redirectUri };
  const creds = { email: benchEmail, password: benchPassword };
  const seeds = await parallel(REFRESH_INFLIGHT, LOGIN_INFLIGHT, () => fullLogin(rp, creds));
  const chains = new RefreshChains(rp, creds, seeds.map((t) => t.refresh_token!), [], REFRESH_INFLIGHT);

  const db = createDb(bench.pg.url, { max: 1 });
  const samples: { at_s: number; all: number; live: number; ratio: number; by_model: Record<string, { all: number; live: number }> }[] = [];
  let done = false;
  const sampler = (async () => {
    const t0 = Date.now();
    while (!done) {
      await sleep(SAMPLE_EVERY_S * 1000);
      const rows = (
        await sql<{ model: string; all: number; live: number }>`SELECT model, count(*)::int AS all, (count(*) FILTER (WHERE expires_at IS NULL OR expires_at > now()))::int AS live
          FROM oidc_payloads GROUP BY model`.execute(db)
      ).rows;
      const all = rows.reduce((s, r) => s + r.all, 0);
      const live = rows.reduce((s, r) => s + r.live, 0);
      samples.push({ at_s: round((Date.now() - t0) / 1000, 1), all, live, ratio: round(live ? all / live : 1), by_model: Object.fromEntries(rows.map((r) => [r.model, { all: r.all, live: r.live }])) });
      progress(`oidc_payloads: ${all} rows, ${live} live (${live ? (all / live).toFixed(2) : '-'})`);
    }
  })();

  const measure = createMeasure(ours, [], postmasterPid(path.join(bench.tmp, 'pg')));
  try {
    const { result, cpu } = await measure(
      ours,
      async () => {
        const [signIns, refresh, cc] = await Promise.all([
          closedLoop(LOGIN_INFLIGHT, seconds, async () => void (await fullLogin(rp, creds)), { maxErrors: 1e9 }),
          chains.load(seconds),
          ccLoad(ours.origin, '/oidc/token', bench.machine.clientId, bench.machine.clientSecret, seconds, CC_INFLIGHT),
        ]);
        return { signIns, refresh, cc, ok: signIns.ok + refresh.ok + cc.ok };
      },
      { profile: 'S2-sustained' },
    );
    emit({ name: 'sustained_sign_in', round: 1, inflight: LOGIN_INFLIGHT, ...loadFields(result.signIns) });
    emit({ name: 'sustained_refresh', round: 1, inflight: REFRESH_INFLIGHT, ...loadFields(result.refresh), reseeded: result.refresh.reseeded });
    emit({ name: 'sustained_cc_opaque', round: 1, inflight: CC_INFLIGHT, ...loadFields(result.cc), ...cpu });
  } finally {
    done = true;
    await sampler;
    await db.destroy();
  }
  for (const s of samples) emit({ name: 'oidc_payloads_rows', round: 1, ...s });

  const s2 = targetResult('S2', [Math.max(...samples.map((s) => s.ratio))]);
  const last = samples.at(-1);
  // bounded: a table the purge keeps up with stops growing once the longest lifetime has passed
  const half = samples[Math.floor(samples.length / 2)];
  const summary = {
    name: 'summary',
    all_pass: s2.pass,
    targets: { S2: s2 },
    sustained_s: seconds,
    lifetimes_s: TTL,
    purge_interval_s: PURGE_INTERVAL_S,
    rows_at_end: last ? { all: last.all, live: last.live } : null,
    peak_rows: Math.max(...samples.map((s) => s.all)),
    rows_end_vs_half_run: last && half ? round(last.all / half.all) : null,
    rows_at_end_by_model: last?.by_model ?? null,
    note: `lifetimes and purge interval shortened 60-fold: these ${seconds} s stand in for ${round((seconds * 60) / 3600, 1)} h of production`,
    quick: QUICK,
    cores: CORES,
    node: process.version,
    load_average_end: loadAverage(),
    elapsed_s: elapsedS(),
  };
  writeResults(summary, { samples });
  return STRICT && !s2.pass ? 1 : 0;
}
