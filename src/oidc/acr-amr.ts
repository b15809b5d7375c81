// RFC 8176 authentication method references and our acr values: the ONE mapping from what happened in a sign-in
// to what tokens say. It imports nothing from oidc-provider, so the sign-in steps (domain/mfa) call it too: every
// door describes its authentication event with `AuthEvent` and gets its amr from `amrFor`, never an inline array.
import { ACR_MFA, ACR_PWD } from '../domain/mfa/mfa-policy.ts';

export { ACR_MFA, ACR_PWD };
export const ACR_VALUES = [ACR_PWD, ACR_MFA];

/** RFC 8176 values Gatehouse emits */
export type Amr = 'pwd' | 'otp' | 'hwk' | 'swk' | 'user' | 'mfa' | 'fed';

/** what the user did in one authentication event */
export interface AuthEvent {
  /** the password was checked */
  password?: boolean;
  /** a code from an authenticator app */
  totp?: boolean;
  /** a recovery code (a look-up secret: a second factor, but not an OTP; decision D1) */
  recoveryCode?: boolean;
  /** a WebAuthn assertion: synced = backup eligible (a passkey that can leave the device); userVerified = UV flag */
  key?: { synced: boolean; userVerified: boolean };
  /**
   * the first factor came from an upstream OpenID provider (`fed`, the value Microsoft Entra ID emits; RFC 8176 has
   * none). `mfa`: its ID token proved a second factor that the upstream's trust rule accepts
   */
  federated?: { mfa: boolean };
}

/**
 * | event                                   | amr                          |
 * | password                                | pwd                          |
 * | password + authenticator code           | pwd otp mfa                  |
 * | password + recovery code                | pwd mfa                      |
 * | password + hardware-bound key (+UV)     | pwd hwk (user) mfa           |
 * | password + synced passkey (+UV)         | pwd swk (user) mfa           |
 * | passkey with user verification          | hwk|swk user mfa             |
 * | passkey without user verification       | hwk|swk (one factor)         |
 * | upstream provider (no accepted 2nd factor) | fed                       |
 * | upstream provider, its MFA trusted      | fed mfa                      |
 * | upstream provider + authenticator code  | fed otp mfa                  |
 * | upstream provider + recovery code       | fed mfa                      |
 * Factors: something you know (password), something you have (code, recovery code, key), and the key's own user
 * verification (PIN or biometric) as the second factor of a passwordless sign-in.
 */
export function amrFor(e: AuthEvent): Amr[] {
  const amr: Amr[] = [];
  if (e.password) amr.push('pwd');
  if (e.federated) amr.push('fed');
  if (e.totp) amr.push('otp');
  if (e.key) amr.push(e.key.synced ? 'swk' : 'hwk');
  if (e.key?.userVerified) amr.push('user');
  const possession = Boolean(e.totp || e.recoveryCode || e.key);
  const knowledgeOrInherence = Boolean(e.password || e.federated || e.key?.userVerified);
  if ((possession && knowledgeOrInherence) || e.federated?.mfa) amr.push('mfa');
  return amr;
}

/** the first factor of a sign-in in progress, from the amr it will be reported with: an upstream provider or the password */
export function firstFactorOf(amr: readonly string[]): Pick<AuthEvent, 'password' | 'federated'> {
  return amr.includes('fed') ? { federated: { mfa: false } } : { password: true };
}

/** acr follows from the methods actually used in the authentication event, never more */
export function acrFor(amr: readonly string[]): string {
  return amr.includes('mfa') ? ACR_MFA : ACR_PWD;
}

/** `epoch`: the user's credential epoch the sign-in was made under; the adapter stamps it on the interaction */
export function loginResult(accountId: string, amr: Amr[], at: Date, epoch: number) {
  return { login: { accountId, amr, acr: acrFor(amr), ts: Math.floor(at.getTime() / 1000), epoch } };
}
