import { createRequire } from 'node:module';
import { ValidationError } from '../errors.ts';

// Decision D2: one uniform floor of 15 code points (NIST 800-63B-4 for single-factor passwords); no composition rules.
export const PASSWORD_MIN = 15;
export const PASSWORD_MAX = 256;

/**
 * 49k common passwords shipped by @zxcvbn-ts/language-common, matched on the whole password, case-insensitively.
 * Read when a password is first set, not at start: a node that only signs people in never holds the list. The check
 * stays synchronous, so the list comes through require (the package ships a CommonJS build beside its ES module).
 */
let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  if (!common) {
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    common = new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));
  }
  return common;
}
const PRODUCT_WORDS = ['gatehouse'];

export interface PasswordContext {
  email?: string;
  name?: string | null;
}

export function checkPassword(password: string, context: PasswordContext = {}): void {
  const normalized = password.normalize('NFC');
  const length = [...normalized].length;
  if (length < PASSWORD_MIN) throw new ValidationError('password_too_short', `Use at least ${PASSWORD_MIN} characters. A few unrelated words make a good password.`, { vars: { min: PASSWORD_MIN } });
  if (length > PASSWORD_MAX) throw new ValidationError('password_too_long', `Use at most ${PASSWORD_MAX} characters.`, { vars: { max: PASSWORD_MAX } });
  const lower = normalized.toLowerCase();
  if (commonPasswords().has(lower) || new Set(lower).size <= 2) throw new ValidationError('password_common', 'This password is too common. Choose something less predictable.');
  // the whole password must not be just context words (letters only: digits and punctuation around them don't count)
  const letters = (x: string) => x.toLowerCase().replace(/[^\p{L}]/gu, '');
  const local = context.email?.split('@')[0];
  const words = [...PRODUCT_WORDS, local, context.name].map((w) => letters(w ?? '')).filter((w) => w.length >= 4);
  const rest = letters(normalized);
  if (rest && words.some((w) => rest.split(w).join('') === '')) {
    throw new ValidationError('password_context', 'Do not use your email, your name or "Gatehouse" as your password.');
  }
}
