import { ValidationError } from '../errors.ts';

// Decision D2: one uniform floor of 15 code points (NIST 800-63B-4 for single-factor passwords); no composition rules.
export const PASSWORD_MIN = 15;
export const PASSWORD_MAX = 256;

export function checkPassword(password: string): void {
  const length = [...password.normalize('NFC')].length;
  if (length < PASSWORD_MIN) throw new ValidationError('password_too_short', `Use at least ${PASSWORD_MIN} characters.`);
  if (length > PASSWORD_MAX) throw new ValidationError('password_too_long', `Use at most ${PASSWORD_MAX} characters.`);
}
