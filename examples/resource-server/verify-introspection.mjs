// Style 2: token introspection (RFC 7662). Works for every Gatehouse token (opaque access tokens, JWTs, personal
// access tokens) and reflects a revocation at once. The API is a confidential client registered with
//   gatehouse client create --name "My API" --resource-server
// so that Gatehouse answers it about tokens issued to other apps.
export async function introspectionVerifier({ issuer, clientId, clientSecret }) {
  const meta = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  if (meta.issuer !== issuer) throw new Error(`discovery names issuer ${meta.issuer}, expected ${issuer}`);
  const auth = 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  return async (token) => {
    const res = await fetch(meta.introspection_endpoint, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token }),
    });
    if (!res.ok) throw new Error(`introspection failed with HTTP ${res.status}`);
    const info = await res.json();
    if (info.active !== true) throw new Error('the token is not active');
    if (info.token_type && info.token_type !== 'Bearer') throw new Error(`not an access token (${info.token_type})`);
    return { sub: info.sub, acr: info.acr, amr: info.amr, scope: info.scope, client_id: info.client_id };
  };
}
