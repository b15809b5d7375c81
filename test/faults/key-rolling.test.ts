// Part of scenario 8: a live change of GATEHOUSE_COOKIE_KEYS and GATEHOUSE_ENCRYPTION_KEYS on two nodes behind one
// address, restarting one node at a time. The order that keeps everything working (README, "Reliability"):
//   1. add the new key at the END of both lists on every node (every node can read what the new key makes, none makes any yet);
//   2. move it to the FRONT on every node (nodes now seal and sign with it; the others still read it);
//   3. `gatehouse keys reseal`, then remove the old key from every node.
// Putting the new key first on one node straight away would let that node seal TOTP keys and sessions that the
// not-yet-restarted node cannot open: step 1 exists for that window.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { countForeignSealed, resealAll } from '../../src/domain/crypto/reseal.ts';
import { viewRecoveryCodes } from '../../src/domain/mfa/recovery-codes.ts';
import { totpAad } from '../../src/domain/mfa/totp.service.ts';
import { startBalancer } from '../helpers/balancer.ts';
import { runGatehouse } from '../helpers/cli.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { enrollTotp } from '../helpers/totp.ts';
import { reportRow } from './report.ts';

const E1 = `old1:${Buffer.alloc(32, 1).toString('base64')}`;
const E2 = `new2:${Buffer.alloc(32, 2).toString('base64')}`;
const C1 = 'old-cookie-key-0123456789abcdefghijklmnopqrstuv';
const C2 = 'new-cookie-key-0123456789abcdefghijklmnopqrstuv';

test('key-rolling-keeps-sessions-and-secrets: cookie and encryption keys change node by node; sessions, interactions, refresh tokens and sealed secrets survive, and nothing needs the old key afterwards', { timeout: 180_000 }, async (t) => {
  const lb = await startBalancer(t);
  const envFor = (enc: string, cookies: string) => ({ GATEHOUSE_ISSUER: lb.origin, GATEHOUSE_ENCRYPTION_KEYS: enc, GATEHOUSE_COOKIE_KEYS: cookies });
  const address = (n: TestServer) => `http://127.0.0.1:${(n.app.server.address() as AddressInfo).port}`;
  let a = await startServer(t, { env: envFor(E1, C1) });
  const databaseUrl = a.databaseUrl;
  let b = await startServer(t, { databaseUrl, env: envFor(E1, C1) });
  lb.route([address(a), address(b)]);
  /** a node restarted with other keys (the proxy stops sending to it first, as a rolling restart does) */
  const restart = async (node: TestServer, enc: string, cookies: string) => {
    const other = node === a ? b : a;
    lb.route([address(other)]);
    await node.close();
    const fresh = await startServer(t, { databaseUrl, env: envFor(enc, cookies) });
    lb.route([address(other), address(fresh)]);
    return fresh;
  };

  // before: a signed-in browser with a refresh token, a sign-in left half-way in another browser, and sealed secrets
  const signedInUser = await makeUser(a.services);
  const withTotp = await makeUser(a.services);
  await enrollTotp(a.services, withTotp);
  const client = await makeClient(a.services);
  const config = await discover(lb.origin, client);
  const browser = new HttpBrowser();
  const first = await authorizationRequest(config, client.redirectUri);
  const signedIn = await signInOverHttp(browser, first.url, client.redirectUri, signedInUser);
  let refreshToken = (await redeem(config, first, signedIn.callbackUrl!)).refresh_token!;
  const halfway = new HttpBrowser();
  const pendingReq = await authorizationRequest(config, client.redirectUri);
  const loginPage = await signInOverHttp(halfway, pendingReq.url, client.redirectUri);
  const loginForm = formOn(loginPage.page, '/login');

  let checks = 0;
  let failures = 0;
  const check = async (phase: string) => {
    // the session, through either node (each sign-in round trip touches both)
    for (let i = 0; i < 2; i++) {
      const sso = await authorizationRequest(config, client.redirectUri);
      const back = await signInOverHttp(browser, sso.url, client.redirectUri);
      checks++;
      assert.ok(back.callbackUrl, `${phase}: the session still signs in`);
      await redeem(config, sso, back.callbackUrl!);
    }
    // the refresh token (its stored jti is sealed)
    refreshToken = (await oidc.refreshTokenGrant(config, refreshToken)).refresh_token!;
    checks++;
    // sealed secrets: every running node opens every one of them
    const totpRows = await a.services.db.selectFrom('totp_credentials').select(['user_id', 'secret_sealed']).execute();
    for (const node of [a, b]) {
      for (const r of totpRows) assert.ok(node.services.box.open(r.secret_sealed, totpAad(r.user_id)).length > 0, `${phase}: TOTP key opens`);
      assert.equal((await viewRecoveryCodes(node.services.db, withTotp.id, { box: node.services.box })).codes.length, 10, `${phase}: recovery codes open`);
      assert.ok((await node.services.keys.privateJwks()).length >= 2, `${phase}: signing keys open`);
      checks += 3;
    }
  };

  try {
    await check('before');
    // 1. the new keys appended, node by node
    b = await restart(b, `${E1},${E2}`, `${C1},${C2}`);
    await check('new keys appended on B');
    a = await restart(a, `${E1},${E2}`, `${C1},${C2}`);
    await check('new keys appended on both');
    // 2. the new keys moved to the front, node by node: B seals and signs with them while A still puts the old first
    b = await restart(b, `${E2},${E1}`, `${C2},${C1}`);
    await enrollTotp(b.services, await makeUser(b.services)); // sealed with the new key, opened by A in check()
    await check('new keys first on B');
    a = await restart(a, `${E2},${E1}`, `${C2},${C1}`);
    await check('new keys first on both');
    // the sign-in left half-way before any change completes now
    const posted = await halfway.request(loginForm.action, { form: { ...loginForm.fields, email: signedInUser.email, password: signedInUser.password } });
    const landed = await halfway.follow(posted, (u) => u.startsWith(client.redirectUri));
    checks++;
    assert.ok(landed.url.startsWith(client.redirectUri), `the half-way sign-in completes (ended at ${landed.url}, ${landed.status})`);
    await redeem(config, pendingReq, landed.url);
    // 3. everything re-sealed with the new key, then the old keys dropped, node by node
    const counts = await resealAll(a.services.db, a.services.box);
    assert.equal(await countForeignSealed(a.services.db, a.services.box), 0, 'nothing is left sealed with the old key');
    assert.ok(counts.totp_credentials!.resealed >= 1 && counts.oidc_payloads!.resealed >= 1 && counts.signing_keys!.resealed >= 2, JSON.stringify(counts));
    assert.ok(Object.values(counts).every((c) => c.unreadable === 0));
    b = await restart(b, E2, C2);
    a = await restart(a, E2, C2);
    await check('old keys dropped');
    // the operator's command: nothing left to re-seal; run with only the old key, it names what it cannot read
    const again = await runGatehouse(databaseUrl, ['keys', 'reseal', '--json'], '', { GATEHOUSE_ENCRYPTION_KEYS: E2 });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(Object.values((JSON.parse(again.stdout) as { tables: Record<string, { resealed: number }> }).tables).every((c) => c.resealed === 0), again.stdout);
    const stale = await runGatehouse(databaseUrl, ['keys', 'reseal'], '', { GATEHOUSE_ENCRYPTION_KEYS: E1 });
    assert.equal(stale.code, 1, 'a node without the current key cannot read what is sealed');
    assert.match(stale.stdout, /sealed with a key this node does not have/);
  } catch (err) {
    failures++;
    throw err;
  } finally {
    reportRow({ scenario: '8 cookie and encryption key change, node by node', result: failures ? 'fail' : 'pass', requests: checks, successes: checks - failures, fiveXx: 0, note: '2 nodes behind one address; append, promote, reseal, drop' });
  }
});
