// OpenID Foundation conformance, "Config OP" plan (oidcc-config-certification-test-plan), reproduced as checks on
// Gatehouse's discovery document and JWKS: what is published is exact, truthful and private-key free.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startServer } from '../helpers/server.ts';

type Meta = Record<string, unknown> & { issuer: string; jwks_uri: string };

async function discovery(t: Parameters<typeof startServer>[0]) {
  const s = await startServer(t);
  const res = await fetch(`${s.issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return { s, meta: (await res.json()) as Meta };
}

describe('Conformance: Config OP', () => {
  test('discovery: issuer exact, every endpoint under the issuer, https-or-loopback', async (t) => {
    const { s, meta } = await discovery(t);
    assert.equal(meta.issuer, s.issuer, 'OIDC Discovery 4.3: identical to the URL discovery was fetched from');
    const endpoints = Object.entries(meta).filter(([k, v]) => (k.endsWith('_endpoint') || k === 'jwks_uri') && typeof v === 'string');
    assert.ok(endpoints.length >= 6, endpoints.map(([k]) => k).join());
    for (const [k, v] of endpoints) assert.ok((v as string).startsWith(`${s.issuer}/`), `${k} = ${v}`);
    for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) assert.ok(meta[k], k);
  });

  test('discovery: only the code flow with PKCE S256, truthful response modes, RFC 9207 iss', async (t) => {
    const { meta } = await discovery(t);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(meta.response_types_supported, ['code']);
    const modes = meta.response_modes_supported as string[];
    assert.ok(modes.includes('query'), 'the code flow default');
    assert.ok(!modes.includes('fragment'), 'fragment is for implicit/hybrid responses, which do not exist here');
    const grants = meta.grant_types_supported as string[];
    for (const g of ['authorization_code', 'refresh_token']) assert.ok(grants.includes(g), g);
    for (const g of ['implicit', 'password']) assert.ok(!grants.includes(g), g);
    assert.equal(meta.authorization_response_iss_parameter_supported, true);
    assert.ok((meta.subject_types_supported as string[]).includes('public'));
    assert.ok(!(meta.id_token_signing_alg_values_supported as string[]).includes('none'));
    assert.ok((meta.id_token_signing_alg_values_supported as string[]).includes('RS256'), 'RS256 for RPs that know nothing else');
  });

  test('discovery: scopes, claims and acr values are the ones tokens actually carry', async (t) => {
    const { meta } = await discovery(t);
    assert.ok((meta.scopes_supported as string[]).includes('openid'));
    const claims = new Set(meta.claims_supported as string[]);
    for (const c of ['sub', 'iss', 'acr', 'amr', 'auth_time', 'email', 'email_verified', 'name']) assert.ok(claims.has(c), c);
    // nothing advertised that Gatehouse never issues (the standard profile claims it does not hold)
    for (const c of ['given_name', 'family_name', 'picture', 'phone_number', 'address', 'birthdate']) assert.ok(!claims.has(c), c);
    assert.deepEqual(meta.acr_values_supported, ['urn:gatehouse:acr:pwd', 'urn:gatehouse:acr:mfa']);
    assert.equal(meta.claims_parameter_supported, true);
  });

  test('JWKS: public keys only, unique kids, each usable for signing', async (t) => {
    const { meta } = await discovery(t);
    const res = await fetch(meta.jwks_uri);
    assert.equal(res.status, 200);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    assert.ok(keys.length >= 2, 'ES256 and RS256');
    for (const k of keys) {
      for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) assert.equal(k[priv], undefined, `${k.kid}: no ${priv}`);
      assert.ok(typeof k.kid === 'string' && k.kid.length > 0);
      assert.ok(k.use === undefined || k.use === 'sig', `${k.kid}: use ${k.use}`);
    }
    assert.equal(new Set(keys.map((k) => k.kid)).size, keys.length, 'kids are unique');
    const algs = (meta.id_token_signing_alg_values_supported as string[]).filter((a) => a !== 'none');
    for (const alg of algs) assert.ok(keys.some((k) => k.alg === alg || (alg.startsWith('ES') ? k.kty === 'EC' : k.kty === 'RSA')), `a key for ${alg}`);
  });
});
