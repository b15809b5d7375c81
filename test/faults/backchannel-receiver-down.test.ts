// Scenario 10: a relying app's back-channel logout receiver is down, then slow, then back. The user's logout never
// waits for it; the call is queued in PostgreSQL, retried with back-off by whichever of two nodes claims it, delivered
// once when the app is back, and an app that never comes back is given up after a bounded number of tries. Every
// attempt and the give-up are audited. Back-off is scaled down here (300 ms, doubling; 10 s by default).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import * as jose from 'jose';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import type { AddressInfo } from 'node:net';
import { startBalancer } from '../helpers/balancer.ts';
import { freePort, startServer, type TestServer } from '../helpers/server.ts';
import { reportRow } from './report.ts';

const ATTEMPTS = 5;
// below the provider's 2.5 s call timeout: a logout that waited for the hanging receiver could not answer in time
const LOGOUT_BOUND_MS = 2000;

type Mode = 'slow' | 'up';

/** the relying app's receiver on a fixed port: not listening (down), holding requests past the timeout (slow), or up */
function flakyReceiver(port: number) {
  let mode: Mode = 'slow';
  let server: http.Server | undefined;
  const sockets = new Set<Socket>();
  const accepted: string[] = [];
  let slowHits = 0;
  return {
    accepted,
    get slowHits() {
      return slowHits;
    },
    set mode(m: Mode) {
      mode = m;
    },
    async listen(m: Mode) {
      mode = m;
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          if (mode === 'slow') {
            // never answers within the provider's 2.5 s limit, then hangs up without acknowledging
            slowHits++;
            setTimeout(() => res.destroy(), 4000).unref();
            return;
          }
          accepted.push(new URLSearchParams(body).get('logout_token') ?? '');
          res.writeHead(200).end();
        });
      });
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (server?.listening) await new Promise((r) => server!.close(r));
    },
  };
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function auditCount(s: TestServer, event: string, clientId: string): Promise<number> {
  const r = await s.services.db.selectFrom('audit_events').select((e) => e.fn.countAll<string>().as('n')).where('event', '=', event).where('client_id', '=', clientId).executeTakeFirstOrThrow();
  return Number(r.n);
}

test('backchannel-receiver-down-never-blocks-logout: logout answers at once, delivery is retried to exactly one token, a dead receiver is given up, all audited', { timeout: 120_000 }, async (t) => {
  const env = { GATEHOUSE_ALLOW_PRIVATE_FETCH: 'true', GATEHOUSE_BACKCHANNEL_BACKOFF_MS: '300', GATEHOUSE_BACKCHANNEL_ATTEMPTS: String(ATTEMPTS) };
  // one cluster: both nodes have the balancer's issuer, so a logout token says the same `iss` whichever node sends it
  const lb = await startBalancer(t);
  const address = (n: TestServer) => `http://127.0.0.1:${(n.app.server.address() as AddressInfo).port}`;
  const a = await startServer(t, { env: { ...env, GATEHOUSE_ISSUER: lb.origin } });
  const b = await startServer(t, { databaseUrl: a.databaseUrl, env: { ...env, GATEHOUSE_ISSUER: lb.origin } });
  lb.route([address(a), address(b)]);
  const flakyPort = await freePort();
  const deadPort = await freePort();
  const receiver = flakyReceiver(flakyPort);
  t.after(() => receiver.close());
  // the other app's receiver accepts connections and never answers, for the whole test
  const hanging = flakyReceiver(deadPort);
  await hanging.listen('slow');
  t.after(() => hanging.close());

  // one user signed in to two apps in one session: one whose receiver comes back, one whose receiver hangs for ever
  const user = await makeUser(a.services);
  const flaky = await makeClient(a.services, { backchannelLogoutUri: `http://127.0.0.1:${flakyPort}/bcl` });
  const dead = await makeClient(a.services, { backchannelLogoutUri: `http://127.0.0.1:${deadPort}/bcl`, redirectUris: ['http://127.0.0.1:9/dead-callback'] });
  const browser = new HttpBrowser();
  const flakyConfig = await discover(a.issuer, flaky);
  const flakyReq = await authorizationRequest(flakyConfig, flaky.redirectUri);
  const signedIn = await signInOverHttp(browser, flakyReq.url, flaky.redirectUri, user);
  const tokens = await redeem(flakyConfig, flakyReq, signedIn.callbackUrl!);
  const deadConfig = await discover(a.issuer, dead);
  const deadReq = await authorizationRequest(deadConfig, dead.redirectUri);
  const sso = await signInOverHttp(browser, deadReq.url, dead.redirectUri);
  assert.ok(sso.callbackUrl, 'the second app signs in through the same session');

  // the user logs out while one receiver refuses connections and the other hangs
  const started = Date.now();
  const confirm = await browser.get(oidc.buildEndSessionUrl(flakyConfig, { id_token_hint: tokens.id_token! }).toString());
  const form = formOn(confirm, '/session/end/confirm');
  const done = await browser.follow(await browser.request(form.action, { form: { ...form.fields, logout: 'yes' } }));
  const logoutMs = Date.now() - started;
  assert.equal(done.status, 200);
  assert.ok(logoutMs < LOGOUT_BOUND_MS, `logout answered in ${logoutMs} ms (bound ${LOGOUT_BOUND_MS} ms)`);
  const again = await signInOverHttp(browser, (await authorizationRequest(flakyConfig, flaky.redirectUri)).url, flaky.redirectUri);
  assert.equal(again.callbackUrl, undefined, 'the session is over: the sign-in page is shown again');

  // down: connection refused, audited, retried later
  await until('a refused attempt', async () => (await auditCount(a, 'backchannel.failed', flaky.clientId)) >= 1, 10_000);
  // slow: the receiver takes the request but never answers in time; the attempt fails after the timeout
  await receiver.listen('slow');
  await until('a slow attempt', async () => receiver.slowHits >= 1, 10_000);
  const beforeTimeout = await auditCount(a, 'backchannel.failed', flaky.clientId);
  await until('the slow attempt to fail', async () => (await auditCount(a, 'backchannel.failed', flaky.clientId)) > beforeTimeout, 10_000);
  // back: the next retry is accepted
  receiver.mode = 'up';
  const back = Date.now();
  await until('the logout token', async () => receiver.accepted.length >= 1, 15_000);
  const recoverySeconds = (Date.now() - back) / 1000;

  const jwks = jose.createRemoteJWKSet(new URL(`${a.issuer}/oidc/jwks`));
  const { payload, protectedHeader } = await jose.jwtVerify(receiver.accepted[0]!, jwks, { issuer: a.issuer, audience: flaky.clientId });
  assert.equal(protectedHeader.typ, 'logout+jwt');
  assert.ok((payload.events as Record<string, unknown>)['http://schemas.openid.net/event/backchannel-logout']);
  assert.equal(payload.sub, user.id);
  assert.equal(payload.sid, tokens.claims()?.sid);
  assert.equal(payload.nonce, undefined);

  // the hanging receiver: bounded retries (each cut at 2.5 s), then given up
  await until('the give-up', async () => (await auditCount(a, 'backchannel.gave_up', dead.clientId)) === 1, 60_000);
  // a few more rounds of both nodes' workers: nothing is delivered twice, nothing given up is tried again
  await new Promise((r) => setTimeout(r, 1500));
  const rows = await a.services.db.selectFrom('backchannel_deliveries').selectAll().orderBy('id').execute();
  const flakyRow = rows.find((r) => r.client_id === flaky.clientId)!;
  const deadRow = rows.find((r) => r.client_id === dead.clientId)!;
  const flakyFailed = await auditCount(a, 'backchannel.failed', flaky.clientId);
  const deadFailed = await auditCount(a, 'backchannel.failed', dead.clientId);
  const delivered = await auditCount(a, 'backchannel.delivered', flaky.clientId);
  const ok = receiver.accepted.length === 1 && delivered === 1 && deadRow.attempts === ATTEMPTS && flakyRow.delivered_at !== null;
  reportRow({
    scenario: '10 back-channel receiver down',
    result: ok ? 'pass' : 'fail',
    requests: flakyRow.attempts + deadRow.attempts,
    successes: receiver.accepted.length,
    fiveXx: 0,
    recoverySeconds,
    note: `logout answered in ${logoutMs} ms; ${flakyFailed} failed tries then 1 delivery; hanging receiver given up after ${deadRow.attempts} tries; 2 nodes`,
  });
  assert.equal(rows.length, 2, 'one queued call per app');
  assert.equal(receiver.accepted.length, 1, 'exactly one logout token accepted');
  assert.equal(delivered, 1);
  assert.ok(flakyRow.delivered_at);
  assert.equal(flakyRow.attempts, flakyFailed + 1, 'every failed try is audited');
  assert.ok(flakyFailed >= 2, 'refused and slow tries both failed');
  assert.ok(deadRow.gave_up_at);
  assert.equal(deadRow.attempts, ATTEMPTS, 'the dead receiver got exactly the bounded number of tries');
  assert.equal(deadFailed, ATTEMPTS - 1, 'each try before the give-up is audited');
  for (const s of [a, b]) assert.equal((await fetch(`${address(s)}/healthz`)).status, 200);
});
