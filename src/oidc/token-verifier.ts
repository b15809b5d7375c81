// Our own APIs accept the opaque access tokens Gatehouse issues. They are looked up through the provider, so the
// same storage, expiry, session binding and 2FA-policy checks apply (the adapter hides a token that today's policy
// no longer accepts), and then checked like the provider's userinfo endpoint checks them.
import type Provider from 'oidc-provider';

export interface VerifiedAccessToken {
  accountId: string;
  clientId: string;
  scopes: ReadonlySet<string>;
  grantId: string;
  /** seconds since the epoch */
  expiresAt: number;
  /** issued to one of our first-party clients */
  firstParty: boolean;
  /** how the user signed in for this token (extraTokenClaims) */
  amr: string[];
  acr: string;
  /** seconds since the epoch */
  authTime: number;
}

export type TokenVerifier = (token: string) => Promise<VerifiedAccessToken | null>;

/** token68 characters (RFC 6750); opaque tokens are base64url */
const TOKEN_RE = /^[A-Za-z0-9\-._~+/]+=*$/;

export function createTokenVerifier(provider: Provider): TokenVerifier {
  return async (token) => {
    if (!token || token.length > 2048 || !TOKEN_RE.test(token)) return null;
    let at: InstanceType<Provider['AccessToken']> | undefined;
    try {
      at = await provider.AccessToken.find(token);
    } catch {
      return null; // malformed values are just not tokens
    }
    if (!at || at.isExpired) return null;
    // machine tokens (client credentials are another model anyway) and tokens without a user are not for this API
    if (!at.accountId || !at.clientId || !at.grantId) return null;
    // a token minted for a resource server (RFC 8707 audience) is that server's, not ours
    if (at.aud !== undefined) return null;
    // sender-constrained tokens need a proof (DPoP / mTLS) this API does not check: refuse them as plain bearer
    if (at.isSenderConstrained()) return null;
    const grant = await provider.Grant.find(at.grantId);
    if (!grant || grant.isExpired || grant.clientId !== at.clientId || grant.accountId !== at.accountId) return null;
    const client = await provider.Client.find(at.clientId);
    if (!client) return null;
    const extra = ((at as unknown as { extra?: { amr?: string[]; acr?: string; auth_time?: number } }).extra ?? {});
    return {
      accountId: at.accountId,
      clientId: at.clientId,
      scopes: new Set((at.scope ?? '').split(' ').filter(Boolean)),
      grantId: at.grantId,
      expiresAt: at.exp ?? 0,
      firstParty: (client.metadata() as Record<string, unknown>).gatehouse_first_party === true,
      amr: extra.amr ?? [],
      acr: extra.acr ?? '',
      authTime: extra.auth_time ?? 0,
    };
  };
}
