// The summary line of a bench run: per target, the median of the per-round ratios with min/max and pass/fail; the
// baselines' spread across rounds (over 30%: a noisy machine, discard the run); round trips per operation.
import { median, round } from './stats.ts';


interface Target {
  id: string;
  what: string;
  goal: { op: '>=' | '<='; value: number };
}

export const TARGETS: Target[] = [
  { id: 'T1', what: 'password step logins/s (4 in flight) ÷ B_argon', goal: { op: '>=', value: 0.85 } },
  { id: 'T2', what: 'full interactive logins/s (4 in flight) ÷ B_argon', goal: { op: '>=', value: 0.65 } },
  { id: 'T3', what: 'full sign-ins with TOTP/s ÷ full sign-ins/s (T2)', goal: { op: '>=', value: 0.9 } },
  { id: 'T4', what: 'client_credentials req/s, ES256 JWT AT ÷ bare oidc-provider with JWT AT', goal: { op: '>=', value: 0.5 } },
  { id: 'T4b', what: 'client_credentials req/s, opaque AT in PostgreSQL ÷ B_lib_cc', goal: { op: '>=', value: 0.25 } },
  { id: 'T5', what: 'refresh_token grant req/s ÷ B_lib_cc', goal: { op: '>=', value: 0.15 } },
  { id: 'T6', what: 'token-endpoint p99 during a sign-in flood ÷ idle p99 (JWT cc, 4 in flight)', goal: { op: '<=', value: 3 } },
  { id: 'T7', what: 'POST login p50 at 1 in flight ÷ single argon2 verify p50', goal: { op: '<=', value: 1.15 } },
  { id: 'T8', what: 'our RSS after the load ÷ bare oidc-provider RSS after its load', goal: { op: '<=', value: 1.5 } },
];

/** the scale figures, each measured by a mode of its own (`--seed`, `--sustain`) */
export const SCALE_TARGETS: Target[] = [
  { id: 'S1', what: 'whole sign-in p50 (code + PKCE, 4 in flight) with the seeded users in 1 organization per 100 ÷ with 1,000 users', goal: { op: '<=', value: 1.2 } },
  { id: 'S2', what: 'rows in the provider table after a sustained run ÷ rows live at that moment (highest over the run)', goal: { op: '<=', value: 2 } },
];

/** one target's line of the summary: the median of its per-round values against the goal, with min/max */
export function targetResult(id: string, per: number[], targets: Target[] = [...TARGETS, ...SCALE_TARGETS]) {
  const t = targets.find((x) => x.id === id)!;
  const m = median(per);
  const pass = t.goal.op === '>=' ? m >= t.goal.value : m <= t.goal.value;
  return { what: t.what, ratio: round(m), min: round(Math.min(...per)), max: round(Math.max(...per)), goal: `${t.goal.op} ${t.goal.value}`, pass, per_round: per.map((v) => round(v)) };
}

function spreadOf(values: number[]) {
  const m = median(values);
  return { median: round(m, 2), min: round(Math.min(...values), 2), max: round(Math.max(...values), 2), spread: round((Math.max(...values) - Math.min(...values)) / m, 3) };
}

export function summarize(
  roundsData: Record<string, number>[],
  roundTrips: Record<string, number[]>,
  measurements: { name: string; round: number; valid?: unknown }[],
  opts: { argonInflight: number; ccInflight: number },
) {
  const invalid = measurements.filter((m) => m.valid === false).map((m) => `${m.name}#${m.round}`);
  const targets: Record<string, unknown> = {};
  let allPass = true;
  for (const t of TARGETS) {
    const result = targetResult(t.id, roundsData.map((d) => d[t.id]!));
    allPass &&= result.pass;
    targets[t.id] = result;
  }
  const baselines = {
    B_argon: { unit: 'verifies/s', inflight: opts.argonInflight, ...spreadOf(roundsData.map((d) => d.B_argon!)) },
    argon_single_p50_ms: spreadOf(roundsData.map((d) => d.argon_single_p50_ms!)),
    B_lib_cc: { unit: 'req/s', inflight: opts.ccInflight, ...spreadOf(roundsData.map((d) => d.B_lib_cc!)) },
  };
  const pgRoundTripsPerOp = Object.fromEntries(Object.entries(roundTrips).map(([id, v]) => [id, round(median(v), 2)]));
  const baselineSpreadOk = baselines.B_argon.spread <= 0.3 && baselines.B_lib_cc.spread <= 0.3;
  return { targets, allPass, baselines, baselineSpreadOk, pgRoundTripsPerOp, invalid };
}
