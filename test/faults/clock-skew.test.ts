// Scenario 7: node clocks 20 s apart (faketime: one node exact, one 20 s ahead, one 20 s behind). A TOTP step used on
// one node is refused on every other; stored lifetimes are counted by the database's clock, so a code issued on the
// node ahead is redeemed on the node behind and the other way round.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { formOn, type HttpBrowser, type Page } from '../helpers/http-browser.ts';
import { atCallback, client, redeemCode, startSignIn, submit, userWithTotp, type Client } from './flows.ts';
import { reportRow } from './report.ts';
import { fileScope, rigOnFreshDatabase, type Rig } from './rig.ts';

let rig: Rig;
const scope = fileScope(after);
before(async () => {
  rig = await rigOnFreshDatabase(scope, { nodes: 3, clockOffsets: [undefined, '+20s', '-20s'] });
});

/** follows redirects with every request pinned to one node, up to the client's callback */
async function followPinned(browser: HttpBrowser, page: Page, pin: Record<string, string>, c: Client): Promise<string> {
  let current = page;
  for (let i = 0; i < 10 && current.status >= 300 && current.status < 400; i++) {
    const next = new URL(current.headers.get('location')!, current.url).toString();
    if (atCallback(c)(next)) return next;
    current = await browser.request(next, { headers: pin });
  }
  throw new Error(`no callback: ${current.status} ${current.url}`);
}

test('node-clocks-do-not-judge-one-time-steps: a TOTP step spent on one node is refused on the nodes 20 s ahead and behind', async () => {
  const user = await userWithTotp(rig);
  const c = await client(rig);
  const [exact, ahead, behind] = rig.nodes as [Rig['nodes'][0], Rig['nodes'][0], Rig['nodes'][0]];
  // the offsets are real: each node's Date header is 20 s off the exact one
  const dates = await Promise.all(rig.nodes.map(async (n) => Date.parse((await fetch(`${n.url}/healthz`)).headers.get('date')!)));
  assert.ok(Math.abs(dates[1]! - dates[0]! - 20_000) <= 2000 && Math.abs(dates[2]! - dates[0]! + 20_000) <= 2000, `node clocks: ${dates.map((d) => new Date(d).toISOString())}`);
  const code = user.code();
  const first = await startSignIn(rig, c);
  let s = await submit(rig, first.browser, first.login, '/login', { email: user.email, password: user.password }, exact.pin, atCallback(c));
  s = await submit(rig, first.browser, s.page, '/totp', { code }, ahead.pin, atCallback(c));
  assert.ok(atCallback(c)(s.page.url), `the code is good on the node ahead: ${s.page.status}`);
  const refused: number[] = [];
  for (const node of [behind, exact, ahead]) {
    const again = await startSignIn(rig, c);
    const pw = await submit(rig, again.browser, again.login, '/login', { email: user.email, password: user.password }, node.pin, atCallback(c));
    const f = formOn(pw.page, '/totp');
    const res = await again.browser.request(f.action, { form: { ...f.fields, code }, headers: node.pin });
    assert.equal(rig.servedBy(res), node.name);
    assert.equal(res.status, 401, `${node.name} refuses the spent step (${res.status})`);
    refused.push(res.status);
  }
  reportRow({ scenario: '7 clock skew ±20 s: TOTP step', result: 'pass', requests: 4, successes: 1, fiveXx: 0, note: `used on ${ahead.name} (+20 s); refused on ${behind.name} (−20 s), ${exact.name}, ${ahead.name}` });
});

test('lifetimes-follow-the-database-clock: a code issued 20 s ahead is stored with the database\'s lifetime and redeemed 20 s behind, and back', async () => {
  const c = await client(rig);
  const ttl = rig.services.config.ttl.authorizationCodeSeconds;
  const results: string[] = [];
  for (const [issuer, redeemer] of [[1, 2], [2, 1]] as const) {
    const user = await userWithTotp(rig);
    const issuing = rig.nodes[issuer]!;
    const redeeming = rig.nodes[redeemer]!;
    const { browser, req, login } = await startSignIn(rig, c);
    const pw = await submit(rig, browser, login, '/login', { email: user.email, password: user.password }, issuing.pin);
    const f = formOn(pw.page, '/totp');
    const res = await browser.request(f.action, { form: { ...f.fields, code: user.code() }, headers: issuing.pin });
    const callbackUrl = await followPinned(browser, res, issuing.pin, c);
    const { rows } = await sql<{ left: number }>`SELECT extract(epoch FROM expires_at - now())::float AS left FROM oidc_payloads WHERE model = 'AuthorizationCode' AND account_id = ${user.id}`.execute(rig.db);
    const left = Number(rows[0]!.left);
    assert.ok(left > ttl - 5 && left <= ttl + 1, `stored lifetime by the database's clock: ${left.toFixed(1)} s of ${ttl} (the issuing node is ${issuer === 1 ? '20 s ahead' : '20 s behind'})`);
    const redeemed = await redeemCode(rig, c, req, callbackUrl, redeeming.pin);
    assert.equal(redeemed.node, redeeming.name);
    assert.equal(redeemed.status, 200, `issued on ${issuing.name}, redeemed on ${redeeming.name}: ${JSON.stringify(redeemed.body)}`);
    results.push(`${issuing.name}→${redeeming.name}`);
  }
  reportRow({ scenario: '7 clock skew ±20 s: lifetimes', result: 'pass', requests: 2, successes: 2, fiveXx: 0, note: `codes ${results.join(', ')} redeemed; stored expiry by the database's clock` });
});
