// Which guess counter a password attempt counts against. Anyone who knows an address can run its per-account counter
// into a lock; a browser that has signed in to the account before (a device cookie, OWASP "device cookies") counts
// against its own counter instead, so such a lock never blocks the owner on their own devices.
import { DomainError } from '../errors.ts';
import { normalizeEmail } from './user.repository.ts';

/** a device cookie the HTTP layer verified (signed by us): this browser once signed in as this user */
export interface KnownDevice {
  userId: string;
  /** the user's credential epoch then: a credential change (a reset) makes every earlier device cookie a stranger */
  epoch: number;
  nonce: string;
}

export class TooManyAttemptsError extends DomainError {
  constructor(public readonly retryAfterSeconds: number) {
    super('too_many_attempts', 'Too many attempts. Wait a few minutes, then try again.', 429);
  }
}

/** the counter for a password attempt at `email` (whose account, if known, is `account`) from this browser */
export function passwordThrottleKey(email: string, account: { id: string; credential_epoch: number } | undefined, device: KnownDevice | null | undefined): string {
  if (device && account && device.userId === account.id && device.epoch === account.credential_epoch) return `pwd-dev:${device.nonce}`;
  return `pwd:${normalizeEmail(email)}`;
}
