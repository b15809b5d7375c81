// Which guess counter a password attempt counts against. Anyone who knows an address can run its per-account counter
// into a lock; a browser that has signed in to the account before (a device cookie, OWASP "device cookies") counts
// against its own counter instead, so such a lock never blocks the owner on their own devices.
import { DomainError } from '../errors.ts';
import { normalizeEmail } from './user.repository.ts';

/** a device cookie the HTTP layer verified (signed by us): this browser once signed in as this user */
export interface KnownDevice {
  userId: string;
  nonce: string;
}

export class TooManyAttemptsError extends DomainError {
  constructor(public readonly retryAfterSeconds: number) {
    super('too_many_attempts', 'Too many attempts. Wait a few minutes, then try again.', 429);
  }
}

/** the counter for a password attempt at `email` (whose account, if known, is `userId`) from this browser */
export function passwordThrottleKey(email: string, userId: string | undefined, device: KnownDevice | null | undefined): string {
  if (device && userId && device.userId === userId) return `pwd-dev:${device.nonce}`;
  return `pwd:${normalizeEmail(email)}`;
}
