// Faults on the token endpoint: a database fault fails closed (503 + Retry-After, like our own pages), and a fault in
// the middle of a refresh-token rotation leaves the old token valid for the client's retry — the grant survives a
// fault that was ours, and there are never two valid refresh tokens. The same holds for an authorization code's
// exchange: a fault before its tokens are stored leaves the code redeemable. And a sign-in's return (the provider
// issuing the code after the sign-in) writes all of its rows or none: a fault leaves the browser's retry working.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, authorizationRequest, discover, redeem, signInOverHttp } from '../helpers/rp.ts';
import { formOn } from '../helpers/http-browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { breakInserts } from '../helpers/faults.ts';

/** a user signed in over HTTP: the code waits at the callback */
async function signedIn(s: TestServer) {
  const user = await makeUser(s.services);
  const client = await makeClient(s.services, { grantTypes: ['refresh_token', 'client_credentials'] as never });
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri);
  const { callbackUrl } = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, user);
  return { user, client, config, req, callbackUrl: callbackUrl! };
}

async function tokensFor(s: TestServer) {
  const { config, client, req, callbackUrl } = await signedIn(s);
  return { config, client, tokens: await redeem(config, req, callbackUrl) };
}

async function refresh(s: TestServer, client: { clientId: string; clientSecret?: string }, refreshToken: string) {
  const res = await fetch(`${s.issuer}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, string> };
}

test('refresh-rotation-survives-a-server-fault: the client retries with the same token and succeeds once; the grant lives', async (t) => {
  const s = await startServer(t);
  const { client, tokens } = await tokensFor(s);
  const restore = await breakInserts(s, 'RefreshToken');
  const failed = await refresh(s, client, tokens.refresh_token!);
  assert.equal(failed.status, 503, JSON.stringify(failed.body));
  assert.equal(failed.body.error, 'temporarily_unavailable');
  assert.equal(failed.retryAfter, '5');
  await restore();

  const retried = await refresh(s, client, tokens.refresh_token!);
  assert.equal(retried.status, 200, 'the old token was not consumed by the failed attempt');
  const live = await s.services.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'RefreshToken').where('consumed_at', 'is', null).execute();
  assert.equal(live.length, 1, 'never two valid refresh tokens');
  const next = await refresh(s, client, retried.body.refresh_token!);
  assert.equal(next.status, 200, 'the grant was not revoked for our fault');
});

test('code-exchange-survives-a-server-fault: the client retries the same code and gets its tokens; then the code is spent', async (t) => {
  const s = await startServer(t);
  const { user, config, req, callbackUrl } = await signedIn(s);
  const restore = await breakInserts(s, 'AccessToken');
  // openid-client carries an answer it did not expect (503, not an OAuth error's 400) as the error's cause
  await assert.rejects(redeem(config, req, callbackUrl), (err: { cause?: { status?: number } }) => err.cause?.status === 503);
  await restore();

  const tokens = await redeem(config, req, callbackUrl);
  assert.ok(tokens.access_token, 'the failed exchange did not consume the code');
  const stored = await s.services.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'AccessToken').where('account_id', '=', user.id).execute();
  assert.equal(stored.length, 1, 'one access token: the failed exchange stored nothing');
  await assert.rejects(redeem(config, req, callbackUrl), (err: { error?: string }) => err.error === 'invalid_grant', 'a code is redeemed once');
});

test('refresh-rotation-race-has-one-winner: parallel rotations of one token — at most one succeeds and the replay revokes the grant', async (t) => {
  const s = await startServer(t);
  const { client, tokens } = await tokensFor(s);
  const results = await Promise.all(Array.from({ length: 6 }, () => refresh(s, client, tokens.refresh_token!)));
  const ok = results.filter((r) => r.status === 200);
  assert.ok(ok.length <= 1, `winners: ${ok.length}`);
  assert.ok(results.filter((r) => r.status === 400).every((r) => r.body.error === 'invalid_grant'));
  assert.equal(results.filter((r) => r.status >= 500).length, 0);
  for (const w of ok) assert.equal((await refresh(s, client, w.body.refresh_token!)).status, 400, 'a replay ends the whole grant');
});

test('token-endpoint-fails-closed-on-database-faults: 503 with Retry-After, not 500', async (t) => {
  const s = await startServer(t);
  const { client } = await tokensFor(s);
  const machine = () =>
    fetch(`${s.issuer}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
  const restore = await breakInserts(s, 'ClientCredentials');
  const down = await machine();
  assert.equal(down.status, 503);
  assert.equal(down.headers.get('retry-after'), '5');
  assert.equal(((await down.json()) as { error: string }).error, 'temporarily_unavailable');
  await restore();
  assert.equal((await machine()).status, 200, 'healed as soon as the fault is gone');
});

test('sign-in-return-survives-a-database-fault: no redirect with a code that was not stored; the retry of the same return gets one', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri);
  const browser = new HttpBrowser();
  const form = formOn(await browser.get(req.url), '/login');
  const afterPassword = await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } });
  assert.equal(afterPassword.status, 303);
  const returnUrl = new URL(afterPassword.headers.get('location')!, s.issuer).toString();
  const sessions = () => s.services.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Session').where('account_id', '=', user.id).execute();

  const restore = await breakInserts(s, 'AuthorizationCode');
  const failed = await browser.request(returnUrl);
  assert.equal(failed.status, 503, 'the return fails closed');
  assert.equal(failed.headers.get('location'), null, 'no redirect carries a code');
  assert.deepEqual(failed.headers.getSetCookie(), [], 'no cookie of a session not saved, nor the end of the interaction');
  assert.equal((await sessions()).length, 0, "none of the return's rows was written: not the session either");
  await restore();

  const retried = await browser.request(returnUrl);
  assert.equal(retried.status, 303);
  const callbackUrl = new URL(retried.headers.get('location')!, s.issuer).toString();
  assert.ok(callbackUrl.startsWith(client.redirectUri), `the retry reached the app: ${callbackUrl}`);
  assert.ok((await redeem(config, req, callbackUrl)).access_token, 'its code is stored and redeemable');
  assert.equal((await sessions()).length, 1);
});
