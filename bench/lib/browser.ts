// A minimal browser over undici (cookie jar, manual redirects) and the OIDC flows the bench drives with it.
import { createHash, randomBytes } from 'node:crypto';
import { generateSync } from 'otplib';
import { Agent, request } from 'undici';
import { parseSetCookie } from '../../test/helpers/http-browser.ts';

/** one keep-alive agent for every browser of the bench (the server sees few connections, as behind a proxy) */
export const agent = new Agent({ connections: 64, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });

export interface Page {
  url: string;
  status: number;
  body: string;
  location?: string;
}

export class Browser {
  private jar = new Map<string, { name: string; value: string; path: string }>();

  private store(setCookie: string | string[] | undefined) {
    if (!setCookie) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const { name, value, path, expired } = parseSetCookie(line);
      const key = `${name}|${path}`;
      if (expired) this.jar.delete(key);
      else this.jar.set(key, { name, value, path });
    }
  }

  private cookieHeader(url: URL): string {
    return [...this.jar.values()]
      .filter((c) => url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  async request(url: string, init: { method?: 'GET' | 'POST'; form?: Record<string, string> } = {}): Promise<Page> {
    const u = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html', 'user-agent': 'gatehouse-bench' };
    const cookie = this.cookieHeader(u);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await request(u, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, dispatcher: agent });
    this.store(res.headers['set-cookie']);
    const text = await res.body.text();
    const loc = res.headers.location;
    return { url, status: res.statusCode, body: text, location: typeof loc === 'string' ? new URL(loc, url).toString() : undefined };
  }

  /** follows redirects until a non-redirect, or until a URL `stopAt` matches (returned unfetched, status 0) */
  async follow(page: Page, stopAt?: (url: string) => boolean): Promise<Page> {
    let current = page;
    for (let i = 0; i < 10 && current.status >= 300 && current.status < 400; i++) {
      const next = current.location;
      if (!next) throw new Error(`redirect without location from ${current.url}`);
      if (stopAt?.(next)) return { url: next, status: 0, body: '' };
      current = await this.request(next);
    }
    return current;
  }
}

export function formOn(page: Page, actionContains: string): { action: string; fields: Record<string, string> } {
  const forms = [...page.body.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
  const f = forms.find((m) => m[1]!.includes(actionContains));
  if (!f) throw new Error(`no form with action containing ${actionContains} on ${page.url} (status ${page.status}): ${page.body.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const m of f[2]!.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[m[1]!] = m[2]!.replace(/&amp;/g, '&');
  return { action: new URL(f[1]!.replace(/&amp;/g, '&'), page.url).toString(), fields };
}

export interface Rp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export interface Credentials {
  email: string;
  password: string;
}

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** an authorization request up to the sign-in form: what a user's browser has before typing the password */
export interface PreparedLogin {
  browser: Browser;
  action: string;
  fields: Record<string, string>;
  verifier: string;
  state: string;
}

export async function prepareLogin(rp: Rp): Promise<PreparedLogin> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const url = new URL(`${rp.issuer}/oidc/auth`);
  url.search = new URLSearchParams({
    client_id: rp.clientId,
    response_type: 'code',
    redirect_uri: rp.redirectUri,
    scope: 'openid email profile',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    nonce: randomBytes(16).toString('base64url'),
  }).toString();
  const browser = new Browser();
  const page = await browser.follow(await browser.request(url.toString()));
  if (page.status !== 200) throw new Error(`sign-in page: status ${page.status} at ${page.url}`);
  const form = formOn(page, '/login');
  return { browser, action: form.action, fields: form.fields, verifier, state };
}

/** the password step alone: POST /interaction/:uid/login; a success is a 303 to the provider's resume URL */
export async function postLogin(p: PreparedLogin, creds: Credentials): Promise<Page> {
  const page = await p.browser.request(p.action, { form: { ...p.fields, email: creds.email, password: creds.password } });
  if (page.status !== 303) throw new Error(`login POST: status ${page.status}: ${page.body.slice(0, 200)}`);
  return page;
}

export interface Tokens {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
}

async function tokenRequest(rp: Rp, form: Record<string, string>): Promise<Tokens> {
  const res = await request(`${rp.issuer}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(rp.clientId, rp.clientSecret) },
    body: new URLSearchParams(form).toString(),
    dispatcher: agent,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`token ${form.grant_type}: status ${res.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Tokens;
}

/** after a successful password step: follow the provider to the redirect URI and redeem the code (PKCE) */
export async function finishLogin(rp: Rp, p: PreparedLogin, afterPost: Page): Promise<Tokens> {
  const cb = await p.browser.follow(afterPost, (u) => u.startsWith(rp.redirectUri));
  if (!cb.url.startsWith(rp.redirectUri)) throw new Error(`did not reach the redirect URI: status ${cb.status} at ${cb.url}: ${cb.body.slice(0, 200)}`);
  const params = new URL(cb.url).searchParams;
  const code = params.get('code');
  if (!code || params.get('state') !== p.state) throw new Error(`callback without code or with a wrong state: ${cb.url}`);
  const tokens = await tokenRequest(rp, { grant_type: 'authorization_code', code, redirect_uri: rp.redirectUri, code_verifier: p.verifier });
  if (!tokens.id_token || !tokens.access_token) throw new Error('token response without id_token/access_token');
  return tokens;
}

/** the whole interactive sign-in: authorization request → sign-in page → password → redirects → /token */
export async function fullLogin(rp: Rp, creds: Credentials): Promise<Tokens> {
  const p = await prepareLogin(rp);
  return finishLogin(rp, p, await postLogin(p, creds));
}

/** a pool of users with an authenticator app; each code's time step is spent once per user (replay guard) */
export class TotpUsers {
  private next = 0;
  private readonly lastStep: number[];
  constructor(private readonly users: { email: string; password: string; secret: string }[]) {
    // enrollment spent the step it was made in
    this.lastStep = users.map(() => Math.floor(Date.now() / 30_000));
  }

  /** a user and a code of a step that user has not used yet (within the ±1 step the server accepts) */
  take(): { creds: Credentials; code: string } {
    const now = Math.floor(Date.now() / 30_000);
    // the step before this one is accepted only until this one ends: not in its last seconds, which the sign-in's
    // password step (a hash or more away) could outlast (the code would then be refused as too old)
    const earliest = Date.now() % 30_000 > 25_000 ? now : now - 1;
    for (let tries = 0; tries < this.users.length; tries++) {
      const i = this.next++ % this.users.length;
      const step = Math.max(this.lastStep[i]! + 1, earliest);
      if (step > now + 1) continue;
      this.lastStep[i] = step;
      const u = this.users[i]!;
      return { creds: { email: u.email, password: u.password }, code: generateSync({ secret: u.secret, epoch: step * 30 }) };
    }
    throw new Error('every TOTP user spent its codes of this time window: enlarge the pool');
  }
}

/** the whole sign-in with a second factor: … → password → authenticator code page → code → redirects → /token */
export async function fullLoginTotp(rp: Rp, users: TotpUsers): Promise<Tokens> {
  const p = await prepareLogin(rp);
  const { creds, code } = users.take();
  const afterPassword = await postLogin(p, creds);
  if (!afterPassword.location?.endsWith('/totp')) throw new Error(`password step did not ask for a code: ${afterPassword.location}`);
  const page = await p.browser.request(afterPassword.location);
  const form = formOn(page, '/totp');
  const afterCode = await p.browser.request(form.action, { form: { ...form.fields, code } });
  if (afterCode.status !== 303) throw new Error(`code POST: status ${afterCode.status}: ${afterCode.body.slice(0, 200)}`);
  return finishLogin(rp, p, afterCode);
}
