// The one place that decides whether a sign-in needs a second factor, and whether a user may drop theirs.
// Tenant policy (issue "Tenants") plugs in here; every path that creates a session or issues a token asks it.

export const ACR_PWD = 'urn:gatehouse:acr:pwd';
export const ACR_MFA = 'urn:gatehouse:acr:mfa';

export interface MfaRequirementInput {
  /** acr_values of the authorization request, space-separated */
  acrValues?: string | null;
  /** values of an essential acr claim request (claims parameter) */
  essentialAcrs?: string[] | null;
}

/** a relying app demands MFA when every acr it accepts is the mfa one */
export function requestDemandsMfa(input: MfaRequirementInput): boolean {
  const essentials = input.essentialAcrs?.filter(Boolean) ?? [];
  if (essentials.length && essentials.every((a) => a === ACR_MFA)) return true;
  const values = (input.acrValues ?? '').split(' ').filter(Boolean);
  return values.length > 0 && values.every((a) => a === ACR_MFA);
}

export function mfaRequired(input: MfaRequirementInput): boolean {
  return requestDemandsMfa(input);
}

/** disabling the last factor is refused while a tenant requires 2FA (no tenants yet: always allowed) */
export async function mayRemoveLastFactor(_userId: string): Promise<boolean> {
  return true;
}
