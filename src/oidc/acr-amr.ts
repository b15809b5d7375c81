// RFC 8176 authentication method references and our acr values.
export const ACR_PWD = 'urn:gatehouse:acr:pwd';
export const ACR_MFA = 'urn:gatehouse:acr:mfa';
export const ACR_VALUES = [ACR_PWD, ACR_MFA];

export type Amr = 'pwd' | 'otp' | 'mfa';

/** acr follows from the methods actually used in the authentication event, never more */
export function acrFor(amr: readonly string[]): string {
  return amr.includes('mfa') ? ACR_MFA : ACR_PWD;
}

export function loginResult(accountId: string, amr: Amr[], at: Date) {
  return { login: { accountId, amr, acr: acrFor(amr), ts: Math.floor(at.getTime() / 1000) } };
}
