// passport (npm) with openid-client's own strategy, `openid-client/passport`, as a second Node relying-party library
// (oauth2-proxy is not packaged in Debian or npm): an Express app on a loopback port protects /protected; the
// cookie-jar browser signs in at a real Gatehouse with password + TOTP; the route sees amr mfa and the mfa acr, from
// an ID token that openid-client validated (signature included) before passport's verify callback got it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import * as jose from 'jose';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn } from '../helpers/http-browser.ts';
import { freePort, startServer } from '../helpers/server.ts';
import { codeFor, enrollTotp } from '../helpers/totp.ts';
import { passportApp } from './support/passport-rp.ts';

describe('passport + openid-client/passport', () => {
  test('code + PKCE, acr_values mfa, password + TOTP: the protected route sees amr mfa from a verified ID token', async (t) => {
    const s = await startServer(t);
    const user = await makeUser(s.services);
    const { secret } = await enrollTotp(s.services, user, new Date(Date.now() - 30_000));
    const port = await freePort();
    const client = await makeClient(s.services, { name: 'passport app', redirectUris: [`http://127.0.0.1:${port}/callback`] });
    const { origin } = await passportApp(t, {
      issuer: new URL(s.issuer),
      clientId: client.clientId,
      clientSecret: client.clientSecret!,
      port,
      sessionSecret: randomBytes(32).toString('base64url'),
    });

    const browser = new HttpBrowser();
    // not signed in: the app sends the browser to Gatehouse with PKCE S256 and the mfa acr_values
    const toLogin = await browser.follow(await browser.request(`${origin}/protected`), (u) => u.startsWith(s.issuer));
    const authorize = new URL(toLogin.url);
    assert.equal(authorize.origin, s.issuer, `sent to Gatehouse, at ${toLogin.url}`);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorize.searchParams.get('acr_values'), 'urn:gatehouse:acr:mfa');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${origin}/callback`);

    const login = await browser.get(toLogin.url);
    const form = formOn(login, '/login');
    const totp = await browser.follow(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } }));
    assert.ok(totp.url.endsWith('/totp'), `asked for the code, at ${totp.url}`);
    const f = formOn(totp, '/totp');
    const page = await browser.follow(await browser.request(f.action, { form: { ...f.fields, code: codeFor(secret) } }));
    assert.equal(page.url, `${origin}/protected`, `back at the protected route: ${page.status} ${page.body.slice(0, 300)}`);
    assert.equal(page.status, 200);

    const seen = JSON.parse(page.body) as { sub: string; email: string; acr: string; amr: string[]; id_token: string };
    assert.equal(seen.sub, user.id);
    assert.equal(seen.email, user.email);
    assert.equal(seen.acr, 'urn:gatehouse:acr:mfa');
    assert.ok(seen.amr.includes('mfa'), `amr ${seen.amr}`);
    assert.deepEqual(seen.amr, ['pwd', 'otp', 'mfa']);
    // the ID token passport's verify callback received: signed with a key Gatehouse advertises, for this client
    const meta = (await (await fetch(`${s.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    const { payload } = await jose.jwtVerify(seen.id_token, jose.createRemoteJWKSet(new URL(meta.jwks_uri)), { issuer: s.issuer, audience: client.clientId });
    assert.equal(payload.sub, user.id);
    assert.equal(payload.acr, 'urn:gatehouse:acr:mfa');

    // signed in: the route answers without another trip to Gatehouse
    const again = await browser.request(`${origin}/protected`);
    assert.equal(again.status, 200);
    assert.equal((JSON.parse(again.body) as { sub: string }).sub, user.id);
  });
});
