// The login prompt's 2FA check and what tokens carry of the sign-in: oidc-provider treats acr_values as voluntary,
// so our own Check makes a demand for the mfa acr (or a client's, or an organization's rule) force the second factor.
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { ACR_MFA } from './acr-amr.ts';
import { satisfiedBy, type MfaPolicy, type PolicyInputRow } from '../domain/mfa/mfa-policy.ts';
import { recallRow } from './request-scope.ts';

/** the policy's inputs that findAccount read with the account in this request (provider.ts), by user and app */
export const POLICY_INPUTS = 'PolicyInputs';
export const policyInputsKey = (userId: string, clientId: string) => `${userId} ${clientId}`;

/** the acr values an essential acr claim request asks for (claims parameter) */
export function essentialAcrs(claims: unknown): string[] {
  const acr = (claims as { id_token?: { acr?: { essential?: boolean; value?: string; values?: string[] } } } | undefined)?.id_token?.acr;
  if (!acr?.essential) return [];
  return acr.values ?? (acr.value ? [acr.value] : []);
}

/**
 * oidc-provider treats acr_values as voluntary: this check makes a demand for the mfa acr force a sign-in with a
 * second factor (step-up), even over an existing password-only session. With prompt=none it ends in login_required.
 */
export function loginPolicy(mfaPolicy: MfaPolicy) {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('mfa_required', 'two-factor authentication is required', 'login_required', async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      const amr = ctx.oidc.session?.amr ?? [];
      if (!accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      // a security key satisfies every rule (including "security keys only"): no query
      if (ctx.oidc.session?.acr === ACR_MFA && (amr.includes('hwk') || amr.includes('swk'))) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      // the request, the client and the user's tenants: a password-only session is not enough if any demands 2FA, and
      // an authenticator-app session is not enough where only security keys count
      const clientId = ctx.oidc.client?.clientId;
      const fetched = clientId ? (recallRow(POLICY_INPUTS, 'for', policyInputsKey(accountId, clientId)) as PolicyInputRow[] | undefined) : undefined;
      const decision = await mfaPolicy.decide(
        { userId: accountId, clientId, acrValues: ctx.oidc.params?.acr_values as string | undefined, essentialAcrs: essentialAcrs(ctx.oidc.claims) },
        fetched,
      );
      if (satisfiedBy(decision, ctx.oidc.session?.acr === ACR_MFA ? amr : [])) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      // a sign-in just completed and still is not strong enough: fail instead of looping back to the sign-in page
      if (ctx.oidc.result?.login) throw new errors.AccessDenied('two-factor authentication was required but not performed');
      return interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );
  return policy;
}

export function authContext(ctx: KoaContextWithOIDC): { amr?: string[]; acr?: string; auth_time?: number } | undefined {
  const e = ctx.oidc.entities as Record<string, { amr?: string[]; acr?: string; authTime?: number } | undefined>;
  const source = e.AuthorizationCode ?? e.RefreshToken ?? e.DeviceCode;
  if (!source) return undefined;
  return { amr: source.amr, acr: source.acr, auth_time: source.authTime };
}

