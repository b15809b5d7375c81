// What the fault scenarios do through the rig's proxy: sign-ins step by step (each step optionally pinned to a node),
// token requests as a client sends them, and a tally of the answers a load got.
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn, type Page } from '../helpers/http-browser.ts';
import { authorizationRequest, discover, type AuthRequest } from '../helpers/rp.ts';
import { codeFor, enrollTotp } from '../helpers/totp.ts';
import type { Rig } from './rig.ts';

export type Client = { clientId: string; clientSecret?: string; redirectUri: string };

/** a user with an authenticator whose last used step is the previous one, so the current code signs in */
export async function userWithTotp(rig: Rig) {
  const user = await makeUser(rig.services);
  const e = await enrollTotp(rig.services, user, new Date(Date.now() - 30_000));
  return { ...user, secret: e.secret, recoveryCodes: e.recoveryCodes, code: (at = new Date()) => codeFor(e.secret, at) };
}

/** a confidential client: third-party ones get a consent page, first-party ones do not */
export async function client(rig: Rig, opts: { firstParty?: boolean } = {}): Promise<Client> {
  return makeClient(rig.services, { firstParty: opts.firstParty ?? true, grantTypes: ['refresh_token', 'client_credentials'] as never });
}

/** a step that did not get the page it needed: its status, for a tally */
export class StepFailed extends Error {
  constructor(what: string, readonly page: Page) {
    super(`${what}: ${page.status} at ${page.url} ${page.body.slice(0, 300)}`);
  }
  get status(): number {
    return this.page.status;
  }
  get retryAfter(): string | null {
    return this.page.headers.get('retry-after');
  }
}

// discovery documents, once per client: a load measures sign-ins, not discovery
const discovered = new Map<string, Awaited<ReturnType<typeof discover>>>();

export async function startSignIn(rig: Rig, c: Client): Promise<{ browser: HttpBrowser; req: AuthRequest; login: Page }> {
  const key = `${rig.url} ${c.clientId}`;
  if (!discovered.has(key)) discovered.set(key, await discover(rig.url, c));
  const req = await authorizationRequest(discovered.get(key)!, c.redirectUri);
  const browser = new HttpBrowser();
  const login = await browser.get(req.url);
  if (login.status !== 200) throw new StepFailed('the sign-in page', login);
  return { browser, req, login };
}

export interface Step {
  page: Page;
  /** the node that answered the step's POST */
  node: string;
}

/** submits the form on `page` whose action contains `action`, pinned to `pin` when given; follows redirects after */
export async function submit(rig: Rig, browser: HttpBrowser, page: Page, action: string, fields: Record<string, string>, pin?: Record<string, string>, stopAt?: (u: string) => boolean): Promise<Step> {
  const form = formOn(page, action);
  const res = await browser.request(form.action, { form: { ...form.fields, ...fields }, headers: pin });
  return { node: rig.servedBy(res), page: res.status >= 300 && res.status < 400 ? await browser.follow(res, stopAt) : res };
}

export const atCallback = (c: Client) => (u: string) => u.startsWith(c.redirectUri);

/** POST /oidc/token with the client's secret (Basic), optionally pinned to a node */
export async function token(rig: Rig, c: Client, params: Record<string, string>, pin?: Record<string, string>) {
  const res = await fetch(`${rig.url}/oidc/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64')}`,
      ...pin,
    },
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: Record<string, string> = {};
  try {
    body = JSON.parse(text) as Record<string, string>;
  } catch {
    body = { raw: text.slice(0, 200) };
  }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), node: rig.servedBy(res), body };
}

export function redeemCode(rig: Rig, c: Client, req: AuthRequest, callbackUrl: string, pin?: Record<string, string>) {
  const code = new URL(callbackUrl).searchParams.get('code')!;
  return token(rig, c, { grant_type: 'authorization_code', code, redirect_uri: c.redirectUri, code_verifier: req.verifier }, pin);
}

/** a full sign-in (password, code when asked, consent when asked) through the proxy; returns the callback URL */
export async function signIn(rig: Rig, c: Client, user: { email: string; password: string; code?: () => string }) {
  const { browser, req, login } = await startSignIn(rig, c);
  const stop = atCallback(c);
  let step = await submit(rig, browser, login, '/login', { email: user.email, password: user.password }, undefined, stop);
  if (step.page.url.endsWith('/totp')) step = await submit(rig, browser, step.page, '/totp', { code: user.code!() }, undefined, stop);
  if (step.page.body.includes('/consent"')) step = await submit(rig, browser, step.page, '/consent', {}, undefined, stop);
  if (!stop(step.page.url)) throw new StepFailed('the sign-in did not reach the callback', step.page);
  return { req, callbackUrl: step.page.url };
}

/** tokens for a fresh sign-in: the code redeemed once */
export async function tokensFor(rig: Rig, c: Client, user: { email: string; password: string; code?: () => string }) {
  const { req, callbackUrl } = await signIn(rig, c, user);
  const res = await redeemCode(rig, c, req, callbackUrl);
  if (res.status !== 200) throw new Error(`redeem: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export { makeUser, HttpBrowser, formOn };

/** the answers a load got: counts by kind, and every 5xx that was not a clean 503 + Retry-After */
export class Tally {
  requests = 0;
  successes = 0;
  fiveXx = 0;
  clean503 = 0;
  unclean: string[] = [];
  other: Record<string, number> = {};

  add(what: string, status: number, retryAfter: string | null, ok: boolean, detail = ''): void {
    this.requests++;
    if (ok) this.successes++;
    if (status >= 500) {
      this.fiveXx++;
      if (status === 503 && retryAfter) this.clean503++;
      else this.unclean.push(`${what} ${status} ${detail}`.slice(0, 300));
    } else if (!ok) {
      const k = `${what} ${status}`;
      this.other[k] = (this.other[k] ?? 0) + 1;
    }
  }

  /** a transport error (the proxy closed on us): counted as a failed request, never as a success */
  error(what: string, err: unknown): void {
    this.requests++;
    this.unclean.push(`${what} ${(err as Error).message}`.slice(0, 200));
  }
}
