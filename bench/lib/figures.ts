// The loads the bench measures: token-endpoint load (client_credentials, refresh chains) over an undici pool with
// keep-alive, and sign-ins driven by the small browser of browser.ts.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { basicAuth, fullLogin, fullLoginTotp, postLogin, prepareLogin, type Credentials, type PreparedLogin, type Rp, type TotpUsers } from './browser.ts';
import { closedLoop, parallel, type LoadResult } from './load.ts';
import { percentile } from './stats.ts';

export async function ccLoad(origin: string, tokenPath: string, clientId: string, secret: string, seconds: number, inflight: number, resource?: string): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: inflight, keepAliveTimeout: 60_000 });
  const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(clientId, secret) };
  // with a resource: an ES256 JWT access token (T4), else an opaque one stored in PostgreSQL (T4b)
  const body = `grant_type=client_credentials&scope=api${resource ? `&resource=${encodeURIComponent(resource)}` : ''}`;
  try {
    return await closedLoop(inflight, seconds, async () => {
      const res = await pool.request({ method: 'POST', path: tokenPath, headers, body });
      const text = await res.body.text();
      if (res.statusCode !== 200 || !text.includes('"access_token"')) throw new Error(`status ${res.statusCode}: ${text.slice(0, 200)}`);
    });
  } finally {
    await pool.close();
  }
}

/** refresh chains: worker w always redeems the refresh token the previous response of its chain returned */
export class RefreshChains {
  constructor(
    private readonly rp: Rp,
    private readonly creds: Credentials,
    private readonly tokens: string[],
    /** refresh tokens from other sign-ins, used when a chain breaks */
    readonly spares: string[],
    private readonly inflight: number,
  ) {}

  async load(seconds: number): Promise<LoadResult & { reseeded: number }> {
    const pool = new Pool(this.rp.issuer, { connections: this.inflight, keepAliveTimeout: 60_000 });
    const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(this.rp.clientId, this.rp.clientSecret) };
    const dead = new Set<number>();
    let reseeded = 0;
    try {
      const r = await closedLoop(this.inflight, seconds, async (w) => {
        if (dead.has(w)) {
          // a failed request may have consumed the token: never reuse it (that would revoke the grant)
          this.tokens[w] = this.spares.pop() ?? (await fullLogin(this.rp, this.creds)).refresh_token!;
          dead.delete(w);
          reseeded++;
        }
        const res = await pool.request({ method: 'POST', path: '/oidc/token', headers, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(this.tokens[w]!)}` });
        const text = await res.body.text();
        if (res.statusCode !== 200) {
          dead.add(w);
          throw new Error(`status ${res.statusCode}: ${text.slice(0, 200)}`);
        }
        const json = JSON.parse(text) as { refresh_token?: string; id_token?: string };
        if (!json.refresh_token || !json.id_token) {
          dead.add(w);
          throw new Error('refresh response without refresh_token/id_token');
        }
        this.tokens[w] = json.refresh_token;
      });
      return { ...r, reseeded };
    } finally {
      await pool.close();
    }
  }
}

// ---- login measurements ----

/**
 * T7: one sign-in at a time, each POST right after one argon2 verify at a time (`verifyOnce`, the baseline's own
 * process, which times it), so that both p50s come from the same moments of the machine. The authorization request
 * and the sign-in page are prepared untimed; only the POST is timed.
 */
export async function loginLatency(rp: Rp, creds: Credentials, seconds: number, verifyOnce: () => Promise<number>) {
  const lat: number[] = [];
  const verify: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const deadline = performance.now() + seconds * 1000;
  const failed = (err: unknown) => {
    errors++;
    firstError ??= (err as Error).message;
  };
  while (performance.now() < deadline && errors < 20) {
    let p: PreparedLogin;
    try {
      p = await prepareLogin(rp);
    } catch (err) {
      failed(err);
      continue;
    }
    // the baseline failing is the bench's failure, not the server's: it ends the window (verifyOnce rejects)
    const v = await verifyOnce();
    try {
      const start = performance.now();
      await postLogin(p, creds);
      lat.push(performance.now() - start);
      verify.push(v);
    } catch (err) {
      failed(err);
    }
  }
  return {
    n: lat.length,
    errors,
    p50_ms: percentile(lat, 50),
    p90_ms: percentile(lat, 90),
    argon: { n: verify.length, p50_ms: percentile(verify, 50), p99_ms: percentile(verify, 99) },
    firstError,
  };
}

/** T1's interactions, prepared before the round: enough for the window at 1.3× the last hashing ceiling (≥ 140/s) */
export async function prepareLogins(rp: Rp, seconds: number, lastArgonPerS: number, inflight: number) {
  const count = Math.ceil(Math.max(lastArgonPerS * 1.3, 140) * seconds) + 2 * inflight;
  const start = performance.now();
  const logins: PreparedLogin[] = await parallel(count, inflight, () => prepareLogin(rp));
  return { logins, seconds: (performance.now() - start) / 1000 };
}

/** T1: `inflight` password POSTs in flight, each on its own prepared interaction */
export async function passwordStep(creds: Credentials, seconds: number, prepared: PreparedLogin[], inflight: number) {
  return closedLoop(inflight, seconds, async () => {
    const p = prepared.pop();
    if (!p) return false;
    await postLogin(p, creds);
  });
}

/** T2: `inflight` whole sign-ins in flight; the refresh tokens they yield are kept as spares for T5 */
export async function fullLogins(rp: Rp, creds: Credentials, seconds: number, spares: string[], inflight: number) {
  return closedLoop(inflight, seconds, async () => {
    const tokens = await fullLogin(rp, creds);
    if (!tokens.refresh_token) throw new Error('no refresh_token from the code redemption');
    if (spares.length < 256) spares.push(tokens.refresh_token);
  });
}


/** T3: whole sign-ins with password + authenticator code, `inflight` in flight, each as a user of the TOTP pool */
export async function fullLoginsTotp(rp: Rp, users: TotpUsers, seconds: number, inflight: number) {
  return closedLoop(inflight, seconds, async () => {
    const tokens = await fullLoginTotp(rp, users);
    if (!tokens.id_token) throw new Error('no id_token from the code redemption');
  });
}

/**
 * T6: token-endpoint latency while sign-ins flood the server. `flood` runs `floodInflight` whole password steps at a
 * time (enough to keep every core hashing) alongside the token load; without it, the idle reference.
 */
export async function tokenUnderFlood(token: () => Promise<LoadResult>, flood: ((stop: () => boolean) => Promise<void>) | undefined) {
  let done = false;
  const background = flood?.(() => done);
  try {
    return await token();
  } finally {
    done = true;
    await background;
  }
}
