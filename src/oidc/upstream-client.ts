// The ONE place that talks to upstream OpenID providers (openid-client 6): discovery, the authorization URL (PKCE
// S256 + state + nonce, and max_age when the trust rule needs a recent auth_time), the code exchange, the ID token's
// verification (signature against the upstream's JWKS, iss, aud, nonce, exp, iat; RFC 9207 `iss` in the authorization
// response where advertised) and userinfo when the ID token has no email. Every call is bounded (≤ 5 s). Failures
// become UpstreamFailure with a reason; nothing here touches the database.
import type * as Oidc from 'openid-client';
import { UpstreamFailure, type UpstreamEndpoint, type UpstreamGateway, type UpstreamIdentity } from '../domain/federation/upstream.service.ts';
import { loadOnce } from '../domain/load-once.ts';

/** openid-client, loaded by the first sign-in through an upstream provider */
const openidClient = loadOnce(() => import('openid-client'));

const DISCOVERY_CACHE_MS = 10 * 60 * 1000;

function classify(err: unknown): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const e = err as { name?: string; code?: string; message?: string; cause?: { name?: string; code?: string; message?: string }; error?: string };
  const detail = `${e.code ?? e.name ?? 'error'}: ${e.message ?? ''}${e.cause?.message ? ` (${e.cause.message})` : ''}`;
  if (e.name === 'TimeoutError' || e.cause?.name === 'TimeoutError' || e.name === 'AbortError' || e.cause?.name === 'AbortError') return new UpstreamFailure('timeout', detail);
  if (e.name === 'AuthorizationResponseError' && e.error === 'access_denied') return new UpstreamFailure('access_denied', detail);
  if (e.name === 'AuthorizationResponseError' || e.name === 'ResponseBodyError' || e.name === 'WWWAuthenticateChallengeError') return new UpstreamFailure('error_response', detail);
  if (e.message === 'fetch failed' || /ECONNREFUSED|ENOTFOUND|ECONNRESET|EHOSTUNREACH/.test(`${e.code} ${e.cause?.code}`)) return new UpstreamFailure('unreachable', detail);
  return new UpstreamFailure('invalid_response', detail);
}

export function createUpstreamClient(opts: { timeoutMs: number; allowInsecure: boolean }): UpstreamGateway {
  const timeout = Math.min(5, Math.max(0.1, opts.timeoutMs / 1000));
  const cache = new Map<string, { config: Promise<Oidc.Configuration>; at: number }>();

  function configuration(oidc: typeof Oidc, up: UpstreamEndpoint): Promise<Oidc.Configuration> {
    const key = `${up.id}|${up.version}`;
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < DISCOVERY_CACHE_MS) return hit.config;
    const execute = [oidc.enableNonRepudiationChecks, ...(opts.allowInsecure ? [oidc.allowInsecureRequests] : [])];
    const config = oidc
      .discovery(new URL(up.issuer), up.clientId, up.clientSecret ?? undefined, up.clientSecret ? oidc.ClientSecretPost(up.clientSecret) : oidc.None(), { execute, timeout })
      .then((c) => {
        c.timeout = timeout;
        return c;
      });
    cache.set(key, { config, at: Date.now() });
    // a failed discovery is not cached: the next sign-in tries again
    config.catch(() => cache.delete(key));
    return config;
  }

  return {
    async authorizationUrl(up, p) {
      try {
        const oidc = await openidClient();
        const config = await configuration(oidc, up);
        const params: Record<string, string> = {
          redirect_uri: p.redirectUri,
          scope: up.scopes,
          response_type: 'code',
          code_challenge: await oidc.calculatePKCECodeChallenge(p.verifier),
          code_challenge_method: 'S256',
          state: p.state,
          nonce: p.nonce,
        };
        if (p.maxAge !== undefined) params.max_age = String(p.maxAge);
        return oidc.buildAuthorizationUrl(config, params).toString();
      } catch (err) {
        throw classify(err);
      }
    },

    async redeem(up, p): Promise<UpstreamIdentity> {
      try {
        const oidc = await openidClient();
        const config = await configuration(oidc, up);
        const current = new URL(p.redirectUri);
        for (const [k, v] of p.params) current.searchParams.append(k, v);
        const tokens = await oidc.authorizationCodeGrant(
          config,
          current,
          { pkceCodeVerifier: p.verifier, expectedState: p.state, expectedNonce: p.nonce, idTokenExpected: true, ...(p.maxAge !== undefined ? { maxAge: p.maxAge } : {}) },
          { redirect_uri: p.redirectUri },
        );
        const claims = tokens.claims();
        if (!claims || typeof claims.sub !== 'string' || !claims.sub) throw new UpstreamFailure('invalid_response', 'no ID token subject');
        let email = typeof claims.email === 'string' ? claims.email : undefined;
        let emailVerified = claims.email_verified === true;
        let name = typeof claims.name === 'string' ? claims.name : undefined;
        if (!email && tokens.access_token) {
          const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
          email = typeof info.email === 'string' ? info.email : undefined;
          emailVerified = info.email_verified === true;
          name ??= typeof info.name === 'string' ? info.name : undefined;
        }
        return {
          issuer: claims.iss,
          subject: claims.sub,
          email,
          emailVerified,
          name,
          amr: Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : undefined,
          acr: typeof claims.acr === 'string' ? claims.acr : undefined,
          authTime: typeof claims.auth_time === 'number' ? claims.auth_time : undefined,
        };
      } catch (err) {
        throw classify(err);
      }
    },
  };
}
