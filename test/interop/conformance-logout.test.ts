// OpenID Foundation conformance, RP-initiated logout and back-channel logout plans (oidcc-rp-initiated-logout,
// oidcc-backchannel-rp-initiated-logout), reproduced with openid-client, the cookie-jar browser and a loopback receiver.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import * as jose from 'jose';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer } from '../helpers/server.ts';

const LOGGED_OUT = 'http://127.0.0.1:9/logged-out';

describe('Conformance: logout', () => {
  test('RP-initiated logout: id_token_hint + post_logout_redirect_uri + state; back-channel logout token by the book', async (t) => {
    const received: string[] = [];
    const rp = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        assert.equal(req.headers['content-type'], 'application/x-www-form-urlencoded');
        received.push(new URLSearchParams(body).get('logout_token') ?? '');
        res.writeHead(200, { 'cache-control': 'no-store' }).end();
      });
    });
    await new Promise<void>((r) => rp.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => rp.close(() => r())));
    const s = await startServer(t, { env: { GATEHOUSE_ALLOW_PRIVATE_FETCH: 'true' } });
    const user = await makeUser(s.services);
    const client = await makeClient(s.services, { backchannelLogoutUri: `http://127.0.0.1:${(rp.address() as AddressInfo).port}/bcl` });
    const config = await discover(s.issuer, client);
    const meta = config.serverMetadata();
    assert.equal(meta.end_session_endpoint, `${s.issuer}/oidc/session/end`);
    assert.equal(meta.backchannel_logout_supported, true);
    assert.equal(meta.backchannel_logout_session_supported, true);

    const browser = new HttpBrowser();
    const req = await authorizationRequest(config, client.redirectUri);
    const { callbackUrl } = await signInOverHttp(browser, req.url, client.redirectUri, user);
    const tokens = await redeem(config, req, callbackUrl!);
    const sid = tokens.claims()!.sid as string;
    assert.ok(sid, 'ID tokens carry sid');

    // the hint names this session: the confirmation submits itself (a form the browser posts)
    const page = await browser.get(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: LOGGED_OUT, state: 'bye-1' }).toString());
    const form = formOn(page, '/session/end/confirm');
    const done = await browser.request(form.action, { form: { ...form.fields, logout: 'yes' } });
    const back = new URL(String(done.headers.get('location')));
    assert.equal(`${back.origin}${back.pathname}`, LOGGED_OUT);
    assert.equal(back.searchParams.get('state'), 'bye-1');

    for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(received.length, 1, 'one logout token');
    // signed with a key from the advertised JWKS, for this client, by this issuer
    const jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri!));
    const { payload, protectedHeader } = await jose.jwtVerify(received[0]!, jwks, { issuer: s.issuer, audience: client.clientId, typ: 'logout+jwt', maxTokenAge: '2 minutes' });
    assert.ok(protectedHeader.kid);
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(payload.sid, sid);
    assert.equal(payload.sub, tokens.claims()!.sub);
    assert.equal(payload.nonce, undefined, 'a logout token never has a nonce');
    assert.ok(payload.jti && payload.iat);

    // the session is over: prompt=none now answers login_required
    const silent = await authorizationRequest(config, client.redirectUri, { prompt: 'none' });
    const after = await signInOverHttp(browser, silent.url, client.redirectUri);
    assert.equal(new URL(after.callbackUrl!).searchParams.get('error'), 'login_required');
  });

  test('logout without a hint asks first, and an unregistered post_logout_redirect_uri is never followed', async (t) => {
    const s = await startServer(t);
    const client = await makeClient(s.services);
    const config = await discover(s.issuer, client);
    const browser = new HttpBrowser();
    const ask = await browser.get(`${s.issuer}/oidc/session/end`);
    assert.equal(ask.status, 200);
    assert.ok(formOn(ask, '/session/end/confirm'));
    const bad = await browser.request(oidc.buildEndSessionUrl(config, { post_logout_redirect_uri: 'https://evil.example/', state: 'x' }).toString());
    assert.equal(bad.headers.get('location'), null);
  });
});
