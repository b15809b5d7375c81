// A deliberately broken upstream OpenID provider (real HTTP on loopback) for the failure paths a real Gatehouse never
// produces: ID tokens with a wrong nonce, a wrong iss, expired, unsigned; an error from the token endpoint; a slow one.
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { freePort } from './net.ts';

export type Defect = 'none' | 'nonce' | 'iss' | 'expired' | 'unsigned' | 'token_error' | 'slow';

export async function startFakeUpstream(t: { after(fn: () => Promise<void>): void }) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const codes = new Map<string, { nonce: string }>();
  const state = { defect: 'none' as Defect, subject: 'fake-user-1', email: 'mallory@example.com' };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url!, issuer);
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['ES256'], code_challenge_methods_supported: ['S256'] });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const code = `c${Math.random().toString(36).slice(2)}`;
      codes.set(code, { nonce: url.searchParams.get('nonce')! });
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state')!);
      return res.writeHead(302, { location: back.toString() }).end();
    }
    if (url.pathname === '/token') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const code = new URLSearchParams(body).get('code')!;
      const pending = codes.get(code);
      if (state.defect === 'slow') await new Promise((r) => setTimeout(r, 1500));
      if (state.defect === 'token_error' || !pending) return json(400, { error: 'invalid_grant', error_description: 'no such code' });
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        sub: state.subject,
        email: state.email,
        email_verified: true,
        nonce: state.defect === 'nonce' ? 'not-the-nonce' : pending.nonce,
        auth_time: now,
        amr: ['pwd', 'mfa'],
      };
      const iss = state.defect === 'iss' ? 'https://evil.example' : issuer;
      const [iat, exp] = state.defect === 'expired' ? [now - 7200, now - 3600] : [now, now + 300];
      const clientId = new URLSearchParams(body).get('client_id') ?? 'gatehouse';
      const idToken =
        state.defect === 'unsigned'
          ? new UnsecuredJWT(claims).setIssuer(iss).setAudience(clientId).setIssuedAt(iat).setExpirationTime(exp).encode()
          : await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(iss).setAudience(clientId).setIssuedAt(iat).setExpirationTime(exp).sign(privateKey);
      return json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { issuer, state, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}
