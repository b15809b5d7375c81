// RFC 8176 authentication method references and our acr values.
import { ACR_MFA, ACR_PWD } from '../domain/mfa/mfa-policy.ts';

export { ACR_MFA, ACR_PWD };
export const ACR_VALUES = [ACR_PWD, ACR_MFA];

import type { Amr } from '../domain/mfa/sign-in-flow.ts';

export type { Amr };

/** acr follows from the methods actually used in the authentication event, never more */
export function acrFor(amr: readonly string[]): string {
  return amr.includes('mfa') ? ACR_MFA : ACR_PWD;
}

/** `epoch`: the user's credential epoch the sign-in was made under; the adapter stamps it on the interaction */
export function loginResult(accountId: string, amr: Amr[], at: Date, epoch: number) {
  return { login: { accountId, amr, acr: acrFor(amr), ts: Math.floor(at.getTime() / 1000), epoch } };
}
