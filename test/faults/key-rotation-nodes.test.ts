// Scenario 8: `gatehouse keys rotate` on a running cluster behind the proxy, no restart. A relying party that cached
// the JWKS before the rotation (and refetches it, as JOSE libraries do, when a token names a key it does not know)
// verifies every ID token every node issues before, during and after the switch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as jose from 'jose';
import { runGatehouse } from '../helpers/cli.ts';
import { client, makeUser, token, tokensFor } from './flows.ts';
import { reportRow } from './report.ts';
import { rigOnFreshDatabase } from './rig.ts';

const PUBLISH_DELAY = 6;

test('key-rotation-keeps-every-token-verifiable-across-nodes: an RP with a JWKS cached before the rotation verifies every node\'s tokens', async (t) => {
  const fast = { GATEHOUSE_KEY_PUBLISH_DELAY: String(PUBLISH_DELAY), GATEHOUSE_KEY_POLL_SECONDS: '1' };
  const rig = await rigOnFreshDatabase(t, { nodes: 2, env: fast });
  const user = await makeUser(rig.services);
  const c = await client(rig);
  // one grant per node, each rotated on its node only
  const refresh = [(await tokensFor(rig, c, user)).refresh_token!, (await tokensFor(rig, c, user)).refresh_token!];
  const jwksUrl = new URL(`${rig.url}/oidc/jwks`);
  const snapshot = jose.createLocalJWKSet((await (await fetch(jwksUrl)).json()) as jose.JSONWebKeySet);
  // the RP: a remote JWKS, fetched now, refetched when a token names an unknown key (at most every 2 s)
  const rp = jose.createRemoteJWKSet(jwksUrl, { cooldownDuration: 2000, cacheMaxAge: 10 * 60_000 });
  await rp.reload();
  const oldKids = new Set(((await (await fetch(jwksUrl)).json()) as jose.JSONWebKeySet).keys.map((k) => k.kid));

  // the operator's command, through PgBouncer like the nodes; the publish delay is the rotating command's setting
  const rotated = await runGatehouse(rig.bouncerUrl, ['keys', 'rotate'], '', fast);
  assert.equal(rotated.code, 0, rotated.stderr);
  const rotatedAt = Date.now();
  const seen: { node: string; kid: string }[] = [];
  let failures = 0;
  for (let i = 0; Date.now() < rotatedAt + (PUBLISH_DELAY + 4) * 1000; i++) {
    const n = i % 2;
    const r = await token(rig, c, { grant_type: 'refresh_token', refresh_token: refresh[n]! }, rig.nodes[n]!.pin);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    refresh[n] = r.body.refresh_token!;
    const kid = jose.decodeProtectedHeader(r.body.id_token!).kid!;
    seen.push({ node: r.node, kid });
    try {
      await jose.jwtVerify(r.body.id_token!, rp, { issuer: rig.url, audience: c.clientId });
      if (oldKids.has(kid)) await jose.jwtVerify(r.body.id_token!, snapshot, { issuer: rig.url, audience: c.clientId });
    } catch (err) {
      failures++;
      assert.fail(`token from ${r.node} (kid ${kid}, ${((Date.now() - rotatedAt) / 1000).toFixed(1)} s after the rotation) did not verify: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const byNode = (node: string, old: boolean) => seen.filter((s) => s.node === node && oldKids.has(s.kid) === old).length;
  for (const n of rig.nodes) {
    assert.ok(byNode(n.name, true) > 0, `${n.name} signed with the old key during the publish delay`);
    assert.ok(byNode(n.name, false) > 0, `${n.name} signs with the new key after it`);
  }
  reportRow({ scenario: '8 key rotation across nodes', result: 'pass', requests: seen.length, successes: seen.length - failures, fiveXx: 0, note: `${seen.filter((s) => oldKids.has(s.kid)).length} tokens with the old key, ${seen.filter((s) => !oldKids.has(s.kid)).length} with the new; all verified by the RP's cache` });
});
