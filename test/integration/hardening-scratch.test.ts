import { test } from 'node:test';
import { PassThrough } from 'node:stream';
import { makeClient } from '../helpers/factories.ts';
import { startServer } from '../helpers/server.ts';

test('fuzz', async (t) => {
  const stream = new PassThrough(); let logs = ''; stream.on('data', (d) => (logs += d));
  const s = await startServer(t, { logStream: stream });
  const client = await makeClient(s.services);
  const paths = ['/oidc/auth', '/oidc/auth/abc', '/oidc/token', '/oidc/me', '/oidc/jwks', '/oidc/session/end', '/oidc/session/end/confirm', '/oidc/session/end/success', '/oidc/token/introspection', '/oidc/token/revocation', '/oidc/device/auth', '/oidc/device', '/oidc/device/abc', '/oidc/request', '/interaction/abc', '/interaction/abc/login', '/interaction/abc/consent', '/account', '/admin', '/api/v1/tenants', '/join', '/invite', '/verify-email', '/reset-password'];
  const bodies = ['', 'xsrf=a&user_code=ABCD-EFGH', 'xsrf=a&logout=yes', `client_id=${client.clientId}&grant_type=x`, 'a=%ZZ&b=%', 'token=x&token=y', 'confirm=yes&xsrf=1', 'user_code=%00'];
  const out = [];
  for (const p of paths) for (const m of ['GET', 'POST']) for (const b of (m === 'GET' ? [''] : bodies)) for (const accept of ['text/html', 'application/json']) {
    const r = await fetch(`${s.issuer}${p}${m === 'GET' ? '?client_id=' + client.clientId + '&x=%ff' : ''}`, { method: m, redirect: 'manual', headers: { accept, ...(m === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }, body: m === 'POST' ? b : undefined });
    const text = await r.text();
    if (r.status >= 500 || !r.headers.get('content-security-policy')) out.push(`${m} ${p} [${b}] ${accept} → ${r.status} csp=${Boolean(r.headers.get('content-security-policy'))} ${text.slice(0, 80)}`);
  }
  console.log(out.join('\n'));
  console.log(logs.split('\n').filter((l) => /"level":50/.test(l)).map((l) => l.slice(0, 300)).join('\n'));
});
