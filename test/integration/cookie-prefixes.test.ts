// Cookies on an https issuer (behind a TLS-terminating proxy): every cookie is Secure and HttpOnly; cookies on Path=/
// carry the __Host- prefix (no Domain); the provider's path-bound interaction cookies carry __Secure-.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { startServer } from '../helpers/server.ts';

const HOST = 'sso.example.com';

test('cookie-prefixes-on-https: __Host- on Path=/ cookies, __Secure- on path-bound ones, all Secure and HttpOnly', async (t) => {
  const s = await startServer(t, { env: { GATEHOUSE_ISSUER: `https://${HOST}`, GATEHOUSE_TRUST_PROXY: 'true' } });
  const port = (s.app.server.address() as { port: number }).port;
  const client = await makeClient(s.services, { redirectUris: ['https://app.example.com/callback'] });
  const user = await makeUser(s.services);
  const jar = new Map<string, string>();
  const seen: string[] = [];
  const call = async (path: string, init: { method?: string; form?: Record<string, string> } = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        host: HOST,
        'x-forwarded-proto': 'https',
        'x-forwarded-host': HOST,
        accept: 'text/html',
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.form ? new URLSearchParams(init.form) : undefined,
    });
    for (const line of res.headers.getSetCookie()) {
      seen.push(line);
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    return res;
  };
  const auth = new URLSearchParams({ client_id: client.clientId, redirect_uri: 'https://app.example.com/callback', response_type: 'code', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', state: 'st' });
  const toLogin = await call(`/oidc/auth?${auth}`);
  const interactionPath = new URL(String(toLogin.headers.get('location')), `https://${HOST}`).pathname;
  const login = await call(interactionPath);
  const html = await login.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
  const done = await call(`${interactionPath}/login`, { form: { _csrf: csrf, email: user.email, password: user.password } });
  await call(new URL(String(done.headers.get('location')), `https://${HOST}`).pathname);

  const names = new Set(seen.map((l) => l.split('=')[0]!));
  for (const expected of ['__Host-session', '__Secure-interaction', '__Secure-interaction_resume', '__Host-csrf', '__Host-gh_device']) assert.ok(names.has(expected), `${expected} among ${[...names].join(', ')}`);
  for (const line of seen) {
    const name = line.split('=')[0]!;
    const attrs = line.toLowerCase();
    assert.ok(/;\s*secure/.test(attrs), `${name} is Secure`);
    assert.ok(/;\s*httponly/.test(attrs), `${name} is HttpOnly`);
    assert.ok(!/;\s*domain=/.test(attrs), `${name} has no Domain`);
    if (name.startsWith('__Host-')) assert.match(attrs, /;\s*path=\/(;|$)/, `${name} is on Path=/`);
    assert.ok(name.startsWith('__Host-') || name.startsWith('__Secure-'), `${name} carries a prefix`);
  }
});
