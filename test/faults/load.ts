// A bounded mixed load through the proxy (a fixed number of workers, for a fixed time, each request with a timeout):
// machine tokens, refresh-token rotations, whole sign-ins with their code redeemed, and readiness probes. Every answer
// is tallied; every token the load was given is kept, so that a scenario can check that each one has its row.
import { makeUser } from '../helpers/factories.ts';
import { storedId } from '../../src/oidc/payload-rows.ts';
import { client, signIn, StepFailed, token, tokensFor, Tally, redeemCode, type Client } from './flows.ts';
import type { Rig } from './rig.ts';

export interface LoadResult {
  tally: Tally;
  /** stored ids (digests) of every access and refresh token a 200 handed out */
  issued: { model: string; id: string }[];
  /** refresh tokens whose grant was refused (invalid_grant) after a fault: must stay empty */
  lostGrants: string[];
  /** times (ms since epoch) of the good answers, for the recovery time */
  goodAt: number[];
}

export interface Load {
  /** resolves when the load is over (its time is up or stop() was called) */
  done: Promise<LoadResult>;
  stop(): void;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** prepares the accounts and grants the load uses (before any fault), then starts `workers` workers for `seconds` */
export async function startLoad(rig: Rig, opts: { workers?: number; seconds: number }): Promise<Load> {
  const workers = opts.workers ?? 4;
  const c: Client = await client(rig);
  const users = await Promise.all(Array.from({ length: workers }, () => makeUser(rig.services)));
  const refresh = await Promise.all(users.map(async (u) => (await tokensFor(rig, c, u)).refresh_token!));
  const result: LoadResult = { tally: new Tally(), issued: [], lostGrants: [], goodAt: [] };
  const end = Date.now() + opts.seconds * 1000;
  let stopped = false;
  const keep = (model: string, value: string | undefined) => value && result.issued.push({ model, id: storedId(model, value) });

  const worker = async (w: number) => {
    for (let i = 0; !stopped && Date.now() < end; i++) {
      const kind = ['machine', 'refresh', 'signin', 'ready'][i % 4]!;
      try {
        if (kind === 'machine') {
          const r = await token(rig, c, { grant_type: 'client_credentials' });
          result.tally.add(kind, r.status, r.retryAfter, r.status === 200, JSON.stringify(r.body));
          if (r.status === 200) keep('ClientCredentials', r.body.access_token);
          if (r.status === 200) result.goodAt.push(Date.now());
        } else if (kind === 'refresh') {
          const r = await token(rig, c, { grant_type: 'refresh_token', refresh_token: refresh[w]! });
          result.tally.add(kind, r.status, r.retryAfter, r.status === 200, JSON.stringify(r.body));
          if (r.status === 200) {
            refresh[w] = r.body.refresh_token!;
            keep('AccessToken', r.body.access_token);
            keep('RefreshToken', r.body.refresh_token);
            result.goodAt.push(Date.now());
          } else if (r.status === 400) {
            // the grant is gone: a fault of ours must never do that (the client retries the same token)
            result.lostGrants.push(`${r.node}: ${JSON.stringify(r.body)}`);
            refresh[w] = (await tokensFor(rig, c, users[w]!)).refresh_token!;
          }
        } else if (kind === 'signin') {
          const { req, callbackUrl } = await signIn(rig, c, users[w]!);
          const r = await redeemCode(rig, c, req, callbackUrl);
          result.tally.add(kind, r.status, r.retryAfter, r.status === 200, JSON.stringify(r.body));
          if (r.status === 200) {
            keep('AccessToken', r.body.access_token);
            result.goodAt.push(Date.now());
          }
        } else {
          const res = await fetch(`${rig.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
          result.tally.add(kind, res.status, res.headers.get('retry-after'), res.status === 200);
        }
      } catch (err) {
        // a sign-in page that did not answer as it should: count it as what it was
        if (err instanceof StepFailed) result.tally.add(kind, err.status, err.retryAfter, false, err.message);
        else result.tally.error(kind, err);
        await pause(200);
      }
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w))).then(() => result);
  return { done, stop: () => void (stopped = true) };
}

/** the first good answer at or after `from` (ms), in seconds after it; undefined when none came */
export function recoveryAfter(r: LoadResult, from: number): number | undefined {
  const first = r.goodAt.filter((t) => t >= from).sort((a, b) => a - b)[0];
  return first === undefined ? undefined : (first - from) / 1000;
}

export { makeUser };
