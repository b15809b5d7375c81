// The example resource server (examples/resource-server/) in both styles, with an openid-client RP: a password-only
// token is refused on the route that demands 2FA with RFC 9470's insufficient_user_authentication and the acr_values
// to ask for; the RP sends the user back to Gatehouse with those acr_values (step-up over the SSO session), and the
// new token is accepted.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, signInOverHttp } from '../helpers/rp.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor } from '../helpers/totp.ts';
// the example as users copy it (plain ESM JavaScript)
import { createResourceServer } from '../../examples/resource-server/resource-server.mjs';
import { introspectionVerifier } from '../../examples/resource-server/verify-introspection.mjs';
import { jwtVerifier } from '../../examples/resource-server/verify-jwt.mjs';

type Style = 'jwt' | 'introspection';

/** RFC 6750 / 9470 challenge parameters of a WWW-Authenticate: Bearer header */
function challenge(header: string | null): Record<string, string> {
  assert.ok(header?.startsWith('Bearer '), `a Bearer challenge: ${header}`);
  return Object.fromEntries([...header!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

async function startApi(t: TestContext, verify: Parameters<typeof createResourceServer>[0]['verify']) {
  const server = createResourceServer({ verify });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, call: (path: string, token?: string) => fetch(`${origin}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }) };
}

async function stepUpFlow(t: TestContext, style: Style) {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const client = await makeClient(s.services, { name: 'App calling the API' });
  const config = await discover(s.issuer, client);
  const audience = 'https://api.example.test/'; // the JWT style's resource indicator (RFC 8707) = the token's aud

  let verify: Parameters<typeof createResourceServer>[0]['verify'];
  if (style === 'jwt') verify = await jwtVerifier({ issuer: s.issuer, audience });
  else {
    const rs = await s.services.clients.create({ name: 'The API', resourceServer: true });
    verify = await introspectionVerifier({ issuer: s.issuer, clientId: rs.clientId, clientSecret: rs.clientSecret! });
  }
  const api = await startApi(t, verify);
  const extra: Record<string, string> = style === 'jwt' ? { resource: audience, scope: 'openid api' } : {};

  /** one authorization request through the browser; the tokens the RP redeems */
  const browser = new HttpBrowser();
  async function signIn(params: Record<string, string>, code?: string) {
    const req = await authorizationRequest(config, client.redirectUri, { ...extra, ...params });
    let { callbackUrl, page } = await signInOverHttp(browser, req.url, client.redirectUri, code ? undefined : user);
    if (code) {
      // step-up: Gatehouse asks for the password again (its session is password-only), then the code
      assert.match(page.body, /requires two-factor authentication/);
      const login = formOn(page, '/login');
      page = await browser.follow(await browser.request(login.action, { form: { ...login.fields, email: user.email, password: user.password } }));
      const totp = formOn(page, '/totp');
      page = await browser.follow(await browser.request(totp.action, { form: { ...totp.fields, code } }), (u) => u.startsWith(client.redirectUri));
      callbackUrl = page.url;
    }
    assert.ok(callbackUrl?.startsWith(client.redirectUri), `back at the RP: ${page.url} ${page.body.slice(0, 300)}`);
    return oidc.authorizationCodeGrant(
      config,
      new URL(callbackUrl!),
      { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce },
      style === 'jwt' ? { resource: audience } : undefined,
    );
  }

  // no token, a made-up token
  const none = await api.call('/hello');
  assert.equal(none.status, 401);
  assert.equal(challenge(none.headers.get('www-authenticate')).error, undefined, 'no error code when no token was sent (RFC 6750 3.1)');
  assert.equal(challenge((await api.call('/hello', 'not-a-token')).headers.get('www-authenticate')).error, 'invalid_token');

  // a password-only sign-in: fine for /hello, refused for /admin with the RFC 9470 challenge
  const weak = await signIn({});
  if (style === 'jwt') assert.equal(weak.access_token.split('.').length, 3, 'a JWT access token for the resource');
  assert.equal((await api.call('/hello', weak.access_token)).status, 200);
  const refused = await api.call('/admin', weak.access_token);
  assert.equal(refused.status, 401);
  const c = challenge(refused.headers.get('www-authenticate'));
  assert.equal(c.error, 'insufficient_user_authentication');
  assert.equal(c.acr_values, 'urn:gatehouse:acr:mfa');

  // the user turns on 2FA from this browser (its session carries on, still password-only)
  const session = await s.services.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'Session').where('account_id', '=', user.id).executeTakeFirstOrThrow();
  const pending = await s.services.twoFactor.startEnrollment(user, 'Phone');
  await s.services.twoFactor.activate(user, pending.credentialId, codeFor(pending.secret, new Date(Date.now() - 30_000)), { sessionId: session.id });

  // the RP does what the challenge says: a new authorization request with its acr_values
  const strong = await signIn({ acr_values: c.acr_values! }, codeFor(pending.secret));
  const ok = await api.call('/admin', strong.access_token);
  assert.equal(ok.status, 200);
  const body = (await ok.json()) as { sub: string; acr: string; amr: string[] };
  assert.equal(body.sub, user.id);
  assert.equal(body.acr, 'urn:gatehouse:acr:mfa');
  assert.deepEqual(body.amr, ['pwd', 'otp', 'mfa']);

  if (style === 'introspection') {
    // revocation shows at once; a refresh token is not an access token
    await oidc.tokenRevocation(config, strong.access_token);
    assert.equal(challenge((await api.call('/admin', strong.access_token)).headers.get('www-authenticate')).error, 'invalid_token');
    if (strong.refresh_token) assert.equal((await api.call('/hello', strong.refresh_token)).status, 401);
  }
}

describe('Resource server (RFC 9470 step-up)', () => {
  test('jose: JWT access token (iss, aud, exp, typ, acr/amr); password-only refused on /admin, step-up accepted', (t) => stepUpFlow(t, 'jwt'));
  test('introspection (examples/resource-server): password-only refused on /admin, step-up accepted, revocation seen', (t) => stepUpFlow(t, 'introspection'));
});
