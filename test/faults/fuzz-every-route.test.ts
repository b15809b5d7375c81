// The fuzz suite: ≥ 10,000 generated requests (fast-check) across every route fastify knows (enumerated from the
// app, so new routes are covered without editing this file) and the provider's endpoints, spread round-robin over
// two nodes on one database, with malformed, oversized, wrongly encoded, NUL-containing and unexpected input — some
// anonymous, some with a signed-in account session, a valid CSRF token and an admin API token. Then ten CLI
// runs with fuzzed arguments (each spawns a process: kept small). Properties: no 5xx, no stack trace in any body,
// no partial writes (row counts unchanged outside audit and throttle tables), every node still serving.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { sql } from 'kysely';
import { PROVIDER_ROUTES } from '../../src/oidc/provider.ts';
import { viewsDir } from '../../src/http/views.ts';
import { startBalancer } from '../helpers/balancer.ts';
import { runGatehouse } from '../helpers/cli.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { HttpBrowser, authorizationRequest, discover, redeem } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { reportRow } from './report.ts';

const REQUESTS = Number(process.env.GATEHOUSE_FUZZ_REQUESTS ?? 10_000);
const CLI_RUNS = Number(process.env.GATEHOUSE_FUZZ_CLI_RUNS ?? 10);
const CONCURRENCY = 8;
const SEED = Number(process.env.GATEHOUSE_FUZZ_SEED ?? Date.now() % 2 ** 31);
/**
 * what a rejected request may still write: the audit trail of the attempt, guess counters, and the provider's
 * anonymous session rows (its logout page keeps the confirmation form's xsrf secret in a session, even for a browser
 * that has none; they expire with the session lifetime). The provider's other rows are compared model by model.
 */
const MAY_GROW = new Set(['audit_events', 'throttles', 'oidc_payloads', 'oidc_payloads/Session']);
const STACK = /\n\s+at .+:\d+:\d+|node_modules\/|\/src\/[\w/-]+\.ts|Error: .*\n\s+at /;

interface Route {
  method: string;
  path: string;
}

/** every route from fastify's own route tree (printRoutes), with full paths */
function routesOf(tree: string): Route[] {
  const out: Route[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)(?:[├└]── )?(.+?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!m || !m[2]) continue;
    const depth = Math.floor([...m[1]!].length / 4) + (/[├└]── /.test(line) ? 1 : 0);
    stack.length = depth;
    stack[depth] = m[2];
    if (!m[3]) continue;
    const full = stack.join('');
    for (const method of m[3].split(', ')) if (method !== 'HEAD' && method !== 'OPTIONS') out.push({ method, path: full });
  }
  return out;
}

/** every form field name our pages use (views/**.njk), so that bodies hit real fields */
function fieldNames(): string[] {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.njk')) for (const m of readFileSync(p, 'utf8').matchAll(/name="([A-Za-z0-9_[\]-]+)"/g)) names.add(m[1]!);
    }
  };
  walk(viewsDir);
  return [...names];
}

const NASTY = [
  '', ' ', '\u0000', 'a\u0000b', '%00', '%', '%zz', '%C0%AF', '%FF%FE', '../../../../etc/passwd', '..%2F..%2F', '<script>alert(1)</script>', "' OR 1=1--", '{{7*7}}', '${7*7}',
  '\uFFFF', '\uD800', '\u202E', 'ǅ', '𝔘𝔫𝔦', '-1', '0', '1e309', 'NaN', 'null', 'undefined', '[]', '{}', 'true', '__proto__', 'constructor', 'x'.repeat(5000),
  '00000000-0000-0000-0000-000000000000', 'a@b', 'user@example.com', '2026-13-45', 'now', 'on', 'security-keys', 'owner', 'admin', 'password,nope',
];

function arbitraries(routes: Route[], fields: string[], known: Record<string, string[]>) {
  const text = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
    { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 3000, maxLength: 9000 }) },
  );
  const fieldName = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...fields) }, { weight: 1, arbitrary: text });
  const fieldsArb = fc.array(fc.tuple(fieldName, fc.oneof(text, fc.array(text, { maxLength: 3 }))), { maxLength: 6 });
  const param = (name: string) => fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...(known[name] ?? ['x'])) }, { weight: 3, arbitrary: text });
  const body = fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fieldsArb.map((f) => ({ kind: 'form' as const, fields: f, type: 'application/x-www-form-urlencoded' })),
    fc.jsonValue({ maxDepth: 3 }).map((v) => ({ kind: 'json' as const, value: v })),
    fc.constantFrom('{', '{"a":', '[1,', '\u0000', '{"__proto__":{"x":1}}', 'a=%zz&b=%', 'a=1&a=2&a[b]=3').map((raw) => ({ kind: 'raw' as const, raw, type: 'application/json' })),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ kind: 'bytes' as const, bytes, type: 'application/x-www-form-urlencoded' })),
    fc.constant({ kind: 'huge' as const }),
    fc.tuple(fieldsArb, fc.constantFrom('text/plain', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=utf-16', 'invalid')).map(([f, type]) => ({ kind: 'form' as const, fields: f, type })),
  );
  return fc.record({
    route: fc.constantFrom(...routes),
    method: fc.oneof({ weight: 8, arbitrary: fc.constant<string | undefined>(undefined) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH') }),
    params: fc.record({ uid: param('uid'), slug: param('slug'), other: param('other') }),
    query: fc.array(fc.tuple(fieldName, text), { maxLength: 4 }),
    body,
    session: fc.boolean(),
    csrf: fc.boolean(),
    bearer: fc.constantFrom('none', 'valid', 'garbage'),
    rawPath: fc.boolean(),
  });
}

type Gen = ReturnType<typeof arbitraries> extends fc.Arbitrary<infer T> ? T : never;

/** percent-encodes the UTF-8 bytes of `v` (lone surrogates become U+FFFD); raw: printable ASCII is sent as it is, `%zz` and all */
function enc(v: string, raw: boolean): string {
  let out = '';
  for (const byte of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += (raw ? byte >= 0x21 && byte <= 0x7e : /[A-Za-z0-9_.~-]/.test(c)) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function pathFor(g: Gen): string {
  let p = g.route.path.replace(/:(\w+)/g, (_, name: string) => enc(name === 'uid' ? g.params.uid : name === 'slug' ? g.params.slug : g.params.other, g.rawPath));
  p = p.replace(/\*/g, enc(g.params.other, g.rawPath));
  const q = g.query.map(([k, v]) => `${enc(k, false)}=${enc(v, g.rawPath)}`).join('&');
  return q ? `${p}?${q}` : p;
}

interface Answer {
  status: number;
  body: string;
}

function send(agent: http.Agent, base: string, method: string, target: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    let req: http.ClientRequest;
    try {
      req = http.request({ host: u.hostname, port: u.port, method, path: target, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, agent, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
    } catch (err) {
      // a path Node itself refuses to send (unescaped characters): not a request the server ever sees
      return resolve({ status: -1, body: String(err) });
    }
    req.on('timeout', () => req.destroy(new Error(`no answer within 15 s: ${method} ${target.slice(0, 200)}`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function tableCounts(s: TestServer): Promise<Record<string, number>> {
  const { rows } = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%'`.execute(s.services.db);
  const out: Record<string, number> = {};
  for (const r of rows) out[r.table_name] = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(r.table_name)}`.execute(s.services.db)).rows[0]!.n);
  // the provider's rows, by model: which kind of row a request left behind
  for (const r of (await sql<{ model: string; n: string }>`SELECT model, count(*) AS n FROM oidc_payloads GROUP BY model`.execute(s.services.db)).rows) out[`oidc_payloads/${r.model}`] = Number(r.n);
  return out;
}

test('fuzz-every-route-no-5xx: ≥10,000 malformed requests over two nodes get 4xx/2xx/3xx only, no stack traces, no partial writes, and every node keeps serving', { timeout: 420_000 }, async (t) => {
  // two nodes behind one address (their issuer); the generated requests go to each node directly, in turn
  const lb = await startBalancer(t);
  const a = await startServer(t, { env: { GATEHOUSE_ISSUER: lb.origin } });
  const b = await startServer(t, { databaseUrl: a.databaseUrl, env: { GATEHOUSE_ISSUER: lb.origin } });
  const nodes = [a, b];
  const addresses = nodes.map((n) => `http://127.0.0.1:${(n.app.server.address() as AddressInfo).port}`);
  lb.route(addresses);

  // a signed-in account (also owner of an organization) for the account pages, the console and the admin API
  const owner = await makeUser(a.services, { name: 'Fuzz Owner' });
  const tenant = await a.services.tenants.create({ slug: 'fuzz-org', name: 'Fuzz Org' });
  await a.services.tenants.addMember(tenant, owner.email, 'owner', null);
  const browser = new HttpBrowser();
  const page = await signInOnPage(browser, await browser.get(`${a.issuer}/account`), owner);
  assert.equal(page.url, `${a.issuer}/account`, `signed in to the account pages: ${page.status} ${page.body.slice(0, 300)}`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(csrf, 'a CSRF token from the account page');
  const cookie = [...browser.cookies()].map(([k, v]) => `${k}=${v}`).join('; ');
  // an admin API token, from a real code flow
  const client = await makeClient(a.services);
  const config = await discover(a.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri, { scope: 'openid admin' });
  const atCallback = (u: string) => u.startsWith(client.redirectUri);
  const cb = await browser.get(req.url, atCallback);
  const accessToken = (await redeem(config, req, cb.url)).access_token;
  // a real sign-in in progress, so that /interaction/:uid routes also see a live uid
  const pending = new HttpBrowser();
  const interaction = await pending.get((await authorizationRequest(config, client.redirectUri)).url);
  const uid = /\/interaction\/([A-Za-z0-9_-]+)/.exec(interaction.url)?.[1] ?? 'none';

  const routes = routesOf(a.app.printRoutes({ commonPrefix: false }));
  if (process.env.GATEHOUSE_FUZZ_DEBUG) console.log(a.app.printRoutes({ commonPrefix: false }), routes);
  const oidcRoutes = [...Object.values(PROVIDER_ROUTES), '/.well-known/openid-configuration', `${PROVIDER_ROUTES.authorization}/:uid`].flatMap((p) => ['GET', 'POST'].map((method) => ({ method, path: p })));
  const all = [...routes.filter((r) => !r.path.includes('*') || r.path === '/*'), ...oidcRoutes];
  assert.ok(routes.length >= 60, `fastify lists our routes (${routes.length})`);
  const known = { uid: [uid], slug: ['fuzz-org'], other: ['fuzz-org', uid, owner.id, client.clientId] };

  const before = await tableCounts(a);
  const samples = fc.sample(arbitraries(all, fieldNames(), known), { numRuns: REQUESTS, seed: SEED });
  // keep-alive connections, as a proxy in front of the nodes keeps them: a request the parser refuses (431 for an
  // oversized URL) must not cost the next request on the same connection (src/http/client-error.ts)
  const agents = nodes.map(() => new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY }));
  t.after(() => agents.forEach((x) => x.destroy()));
  const classes: Record<string, number> = {};
  const failures: string[] = [];
  let sent = 0;
  let next = 0;
  const started = Date.now();
  const worker = async () => {
    for (let i = next++; i < samples.length; i = next++) {
      const g = samples[i]!;
      const method = g.method ?? g.route.method;
      const headers: Record<string, string> = { accept: i % 3 === 0 ? 'application/json' : 'text/html' };
      if (g.session) headers.cookie = cookie;
      if (g.bearer === 'valid') headers.authorization = `Bearer ${accessToken}`;
      if (g.bearer === 'garbage') headers.authorization = `Bearer ${'x'.repeat(i % 50)}.${i}`;
      let body: Buffer | undefined;
      const b2 = g.body;
      if (method !== 'GET' && method !== 'DELETE') {
        if (b2.kind === 'form') {
          const params = new URLSearchParams();
          for (const [k, v] of b2.fields) for (const x of [v].flat()) params.append(k, x);
          if (g.csrf) params.set('_csrf', csrf);
          body = Buffer.from(params.toString());
          headers['content-type'] = b2.type;
        } else if (b2.kind === 'json') {
          body = Buffer.from(JSON.stringify(b2.value) ?? 'null');
          headers['content-type'] = 'application/json';
        } else if (b2.kind === 'raw') {
          body = Buffer.from(b2.raw);
          headers['content-type'] = b2.type;
        } else if (b2.kind === 'bytes') {
          body = Buffer.from(b2.bytes);
          headers['content-type'] = b2.type;
        } else if (b2.kind === 'huge') {
          body = Buffer.alloc(200 * 1024, 'a=');
          headers['content-type'] = 'application/x-www-form-urlencoded';
        }
      }
      const target = pathFor(g);
      const node = i % 2;
      let answer: Answer;
      const huge = b2.kind === 'huge' && body !== undefined;
      try {
        // an oversized body goes on a connection of its own: the server may answer 413 and close before reading it all
        answer = await send(huge ? new http.Agent({ keepAlive: false }) : agents[node]!, addresses[node]!, method, target, headers, body);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (huge && (code === 'ECONNRESET' || code === 'EPIPE')) {
          classes.refused = (classes.refused ?? 0) + 1;
          sent++;
          continue;
        }
        failures.push(`${method} ${target.slice(0, 200)} (${target.length} chars, ${b2.kind} body${g.session ? ", session" : ""}): ${(err as Error).message}`);
        continue;
      }
      if (answer.status === -1) continue;
      sent++;
      const cls = `${Math.floor(answer.status / 100)}xx`;
      classes[cls] = (classes[cls] ?? 0) + 1;
      if (answer.status >= 500) failures.push(`${answer.status} ${method} ${target.slice(0, 300)} body=${(body ?? Buffer.alloc(0)).toString('utf8').slice(0, 200)} → ${answer.body.slice(0, 300)}`);
      else if (STACK.test(answer.body)) failures.push(`stack trace in ${answer.status} ${method} ${target.slice(0, 200)}: ${answer.body.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const httpSeconds = (Date.now() - started) / 1000;

  const after = await tableCounts(a);
  const changed = Object.keys(after).filter((k) => !MAY_GROW.has(k) && after[k] !== before[k]).map((k) => `${k}: ${before[k]} → ${after[k]}`);
  const serving = await Promise.all(addresses.flatMap((n) => ['/healthz', '/readyz', '/.well-known/openid-configuration'].map(async (p) => (await fetch(`${n}${p}`)).status)));

  // the CLI: ten runs with fuzzed arguments (each spawns a process that takes seconds to start on a busy box)
  const commands = [['user', 'create'], ['user', 'disable'], ['user', 'enable'], ['user', 'invite'], ['tenant', 'create'], ['tenant', 'update'], ['tenant', 'add-member'], ['tenant', 'methods'], ['client', 'create'], ['upstream', 'add'], ['upstream', 'update'], ['upstream', 'remove'], ['keys', 'list'], ['nonsense']];
  const flags = ['--email', '--name', '--slug', '--role', '--redirect-uri', '--grant-type', '--require-2fa', '--from', '--second-factors', '--token-max-days', '--methods', '--issuer', '--client-id', '--scopes', '--trust-max-age', '--json', '--password-stdin'];
  const cliArb = fc.record({
    cmd: fc.constantFrom(...commands),
    args: fc.array(fc.oneof(fc.constantFrom(...flags), fc.constantFrom(...NASTY.filter((x) => !x.includes('\u0000') && x.length < 100)), fc.string({ maxLength: 20 }).map((s) => s.replace(/\u0000/g, ''))), { maxLength: 6 }),
    stdin: fc.string({ maxLength: 50 }),
  });
  const cliSamples = fc.sample(cliArb, { numRuns: CLI_RUNS, seed: SEED });
  const cliCodes: Record<string, number> = {};
  let cliNext = 0;
  const cliWorker = async () => {
    for (let i = cliNext++; i < cliSamples.length; i = cliNext++) {
      const c = cliSamples[i]!;
      const r = await runGatehouse(a.databaseUrl, [...c.cmd, ...c.args], c.stdin);
      cliCodes[String(r.code)] = (cliCodes[String(r.code)] ?? 0) + 1;
      if (r.code === null || r.code > 2) failures.push(`CLI ${[...c.cmd, ...c.args].join(' ').slice(0, 200)} exited ${r.code}: ${r.stderr.slice(0, 300)}`);
      if (STACK.test(r.stderr) || STACK.test(r.stdout)) failures.push(`CLI stack trace: ${[...c.cmd, ...c.args].join(' ').slice(0, 200)}: ${r.stderr.slice(0, 300)}`);
    }
  };
  await Promise.all([cliWorker(), cliWorker()]);

  const fiveXx = classes['5xx'] ?? 0;
  console.log(`fuzz seed ${SEED}: ${sent} requests in ${httpSeconds.toFixed(1)} s over ${all.length} routes (${routes.length} from fastify) on 2 nodes: ${JSON.stringify(classes)}; CLI runs ${CLI_RUNS}: exit codes ${JSON.stringify(cliCodes)}`);
  reportRow({
    scenario: '13 fuzz every route',
    result: failures.length || changed.length || serving.some((s) => s !== 200) ? 'fail' : 'pass',
    requests: sent + CLI_RUNS,
    successes: sent - fiveXx,
    fiveXx,
    note: `seed ${SEED}; ${all.length} routes; ${JSON.stringify(classes)}; ${CLI_RUNS} CLI runs; ${httpSeconds.toFixed(0)} s`,
  });
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures (seed ${SEED})`);
  assert.ok(sent >= REQUESTS * 0.95, `at least 95 % of the generated requests were sent (${sent})`);
  assert.deepEqual(changed, [], 'no rows written outside the audit trail and guess counters');
  assert.ok(serving.every((s) => s === 200), `every node still serving: ${serving.join(',')}`);
});
