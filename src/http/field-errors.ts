// The checks the sign-in and forgot-password forms make before anything is looked up: each empty or malformed field
// says so beside itself, all at once (as the other forms do). They look at what was typed only, so their answer
// says nothing about any account.
import { isEmailAddress } from '../domain/users/email-address.ts';
import { translate } from './locale.ts';

export type FieldErrors = Record<string, string>;

export function emailFieldError(email: string): string | undefined {
  const value = email.trim();
  if (!value) return translate('fieldErrors.emailMissing');
  return isEmailAddress(value) ? undefined : translate('errors.invalid_email');
}

/** the sign-in form's field errors, or null when both fields are worth checking against an account */
export function signInFieldErrors(body: { email: string; password: string }): FieldErrors | null {
  const errors: FieldErrors = {};
  const email = emailFieldError(body.email);
  if (email) errors.email = email;
  if (!body.password) errors.password = translate('fieldErrors.passwordMissing');
  return Object.keys(errors).length ? errors : null;
}
