// The `idp` claim: the issuer of the upstream OpenID provider that vouched for the first factor of a federated
// sign-in (amr "fed"). The provider's session keeps only amr/acr/auth_time, so the issuer is looked up by the user and
// the sign-in's auth_time (domain/federation/link.service.ts records it when the sign-in completes).
import type { KoaContextWithOIDC } from 'oidc-provider';
import { authContext } from './login-policy.ts';

export async function idpClaim(ctx: KoaContextWithOIDC, userId: string, idpFor: ((userId: string, authTime: number) => Promise<string | null>) | undefined): Promise<{ idp?: string }> {
  const auth = idpFor ? authContext(ctx) : undefined;
  if (!auth?.amr?.includes('fed') || typeof auth.auth_time !== 'number') return {};
  const idp = await idpFor!(userId, auth.auth_time);
  return idp ? { idp } : {};
}
