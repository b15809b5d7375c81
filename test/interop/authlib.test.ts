// Python authlib (Debian python3-authlib) as an independent relying party: discovery, code + PKCE S256, the ID token
// verified against the JWKS by authlib itself, userinfo, refresh with rotation. The browser part is the cookie-jar
// HttpBrowser (no JavaScript on the way).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn, type Page } from '../helpers/http-browser.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor, enrollTotp } from '../helpers/totp.ts';
import { authlibRp } from './support/python-rp.ts';

const REDIRECT = 'http://127.0.0.1:9/authlib/callback'; // never fetched: the browser stops at it
const atRp = (u: string) => u.startsWith(REDIRECT);

/** the sign-in pages over HTTP: password, then the code when asked; ends at the RP's callback URL (unfetched) */
async function signIn(browser: HttpBrowser, authorizationUrl: string, user: { email: string; password: string }, code?: () => string): Promise<Page> {
  const login = await browser.get(authorizationUrl, atRp);
  const form = formOn(login, '/login');
  let page = await browser.follow(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } }), atRp);
  if (page.url.endsWith('/totp')) {
    const f = formOn(page, '/totp');
    page = await browser.follow(await browser.request(f.action, { form: { ...f.fields, code: code!() } }), atRp);
  }
  return page;
}

async function setup(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t);
  const client = await makeClient(s.services, { name: 'authlib app', redirectUris: [REDIRECT], grantTypes: ['refresh_token'] });
  return { s, client };
}

describe('Python authlib', () => {
  test('code + PKCE, ID token verified with the JWKS, userinfo, refresh (password sign-in)', async (t) => {
    const { s, client } = await setup(t);
    const user = await makeUser(s.services);
    const rp = await authlibRp(t, { issuer: s.issuer, client_id: client.clientId, client_secret: client.clientSecret, redirect_uri: REDIRECT });
    const url = new URL(rp.authorizationUrl);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    const browser = new HttpBrowser();
    const page = await signIn(browser, rp.authorizationUrl, user);
    assert.ok(page.url.startsWith(REDIRECT), `back at the RP, at ${page.url}`);
    const r = await rp.finish(page.url);
    assert.equal(r.id_token_claims.sub, user.id);
    assert.deepEqual(r.id_token_claims.amr, ['pwd']);
    assert.equal(r.id_token_claims.acr, 'urn:gatehouse:acr:pwd');
    assert.equal(r.userinfo.email, user.email);
    assert.ok(r.refreshed_claims, 'the refresh returned a new ID token');
    assert.deepEqual(r.refreshed_claims.amr, ['pwd'], 'a refresh keeps the sign-in it came from');
  });

  test('acr_values=…mfa with password + TOTP: authlib verifies amr mfa, and after a refresh too', async (t) => {
    const { s, client } = await setup(t);
    const user = await makeUser(s.services);
    const { secret } = await enrollTotp(s.services, user, new Date(Date.now() - 30_000));
    const rp = await authlibRp(t, {
      issuer: s.issuer,
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uri: REDIRECT,
      params: { acr_values: 'urn:gatehouse:acr:mfa' },
    });
    const browser = new HttpBrowser();
    const page = await signIn(browser, rp.authorizationUrl, user, () => codeFor(secret));
    assert.ok(page.url.startsWith(REDIRECT), `back at the RP, at ${page.url}`);
    const r = await rp.finish(page.url);
    assert.equal(r.id_token_claims.acr, 'urn:gatehouse:acr:mfa');
    assert.deepEqual(r.id_token_claims.amr, ['pwd', 'otp', 'mfa']);
    assert.deepEqual(r.refreshed_claims?.amr, ['pwd', 'otp', 'mfa']);
  });
});
