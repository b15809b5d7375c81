import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer } from '../helpers/server.ts';

test('authorization code + PKCE with a real RP: password login gives amr pwd and the pwd acr', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri);
  const { callbackUrl } = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, user);
  assert.ok(callbackUrl, 'the browser is sent back to the client');
  const tokens = await redeem(config, req, callbackUrl);
  const claims = tokens.claims()!;
  assert.equal(claims.sub, user.id);
  assert.deepEqual(claims.amr, ['pwd']);
  assert.equal(claims.acr, 'urn:gatehouse:acr:pwd');
  assert.equal(typeof claims.auth_time, 'number');
  assert.ok(Math.abs(Number(claims.auth_time) - Date.now() / 1000) < 60);
  const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
  assert.equal(info.email, user.email);
  assert.equal(info.email_verified, true);
  assert.equal(info.name, 'Test User');
});
