// Live key rotation on two nodes of one database, with no restart: `keys rotate` publishes the new keys on every
// node within seconds, both keep signing with the old key until the publish delay is over, then both sign with the
// new one. A relying party's JWKS cache from before the rotation verifies every token signed during the delay, and a
// cache refreshed during the delay verifies every token after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as jose from 'jose';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, authorizationRequest, discover, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// a publish delay long enough for two sign-ins per node after the new keys appear, even on a slow machine
const FAST = { GATEHOUSE_KEY_PUBLISH_DELAY: '8', GATEHOUSE_KEY_POLL_SECONDS: '1' };

async function idToken(node: TestServer, client: { clientId: string; clientSecret?: string; redirectUri: string }, user: { email: string; password: string }) {
  const config = await discover(node.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri);
  const { callbackUrl } = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, user);
  return (await redeem(config, req, callbackUrl!)).id_token!;
}

const kidOf = (jwt: string) => jose.decodeProtectedHeader(jwt).kid!;
const jwks = async (node: TestServer) => (await (await fetch(`${node.issuer}/oidc/jwks`)).json()) as jose.JSONWebKeySet;

async function until<T>(what: string, fn: () => Promise<T | undefined>, seconds = 10): Promise<T> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('key-rotation-without-restart: both nodes publish at once, switch after the publish delay, and every cached JWKS keeps verifying', async (t) => {
  const a = await startServer(t, { env: FAST });
  const b = await startServer(t, { env: FAST, databaseUrl: a.databaseUrl });
  const client = await makeClient(a.services);
  const user = await makeUser(a.services);
  const before = await jose.createLocalJWKSet(await jwks(a));
  const oldKid = kidOf(await idToken(b, client, user));

  const { kids, activatesAt } = await a.services.keys.rotate();
  const newEs = kids; // ES256 and RS256
  // within a few seconds every node publishes the new keys …
  for (const node of [a, b]) await until('the new keys in the JWKS', async () => ((await jwks(node)).keys.some((k) => newEs.includes(k.kid!)) ? true : undefined));
  const during = await jose.createLocalJWKSet(await jwks(b));
  // … and still signs with the old key, so a cache from before the rotation verifies what they issue now
  assert.ok(Date.now() < activatesAt.getTime(), 'still inside the publish delay');
  for (const node of [a, b]) {
    const token = await idToken(node, client, user);
    if (Date.now() >= activatesAt.getTime() - 500) break; // too slow a machine to tell: the phase below still proves the switch
    assert.equal(kidOf(token), oldKid, 'the old key signs during the publish delay');
    await jose.jwtVerify(token, before, { audience: client.clientId });
  }
  // after the delay both nodes sign with the new key, which the cache refreshed during the delay knows
  for (const node of [a, b]) {
    const token = await until('signing with the new key', async () => {
      const t = await idToken(node, client, user);
      return newEs.includes(kidOf(t)) ? t : undefined;
    }, 20);
    await jose.jwtVerify(token, during, { audience: client.clientId });
  }
  // the old key stays published for tokens it signed
  assert.ok((await jwks(a)).keys.some((k) => k.kid === oldKid));
});
