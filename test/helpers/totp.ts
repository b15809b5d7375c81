import { generateSync } from 'otplib';
import type { Services } from '../../src/container.ts';
import type { User } from '../../src/domain/users/user.service.ts';

/** the code an authenticator app shows for this secret at this time */
export function codeFor(secret: string, at: Date = new Date()): string {
  return generateSync({ secret, epoch: Math.floor(at.getTime() / 1000) });
}

const STEP_MS = 30_000;
const DAY_MS = 86_400_000;

/**
 * The real current time rounded down to a 30-second TOTP step, plus 5 s: a fixed clock starts here, so that the app's
 * parts that still read the real time (oidc-provider, the browser, cookies) agree with it, and `advance(30)` lands
 * in the next step.
 */
export function stepStart(at: Date = new Date()): Date {
  return new Date(Math.floor(at.getTime() / STEP_MS) * STEP_MS + 5_000);
}

/** a controllable clock for TOTP windows and expiries; it starts at the real time (see stepStart) unless told */
export function fixedClock(start: Date = stepStart()) {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    set: (d: Date) => void (now = d.getTime()),
    advance: (seconds: number) => void (now += seconds * 1000),
  };
}

/** enrolls an authenticator the way the page does: start, read the key, type a code; the step used is then spent */
export async function enrollTotp(services: Services, user: User, at: Date = services.clock.now()) {
  const pending = await services.twoFactor.startEnrollment(user, 'Phone');
  const { recoveryCodes } = await services.twoFactor.activate(user, pending.credentialId, codeFor(pending.secret, at), {});
  return { secret: pending.secret, recoveryCodes: recoveryCodes ?? [], credentialId: pending.credentialId };
}

/** `days` days after `base` (before it when negative), at base's time of day or at the UTC time given ("09:30") */
export function daysFrom(base: Date, days: number, utcTime?: string): Date {
  const d = new Date(base.getTime() + days * DAY_MS);
  if (utcTime) {
    const [h, m] = utcTime.split(':').map(Number);
    d.setUTCHours(h!, m!, 0, 0);
  }
  return d;
}

/** "YYYY-MM-DD": the UTC calendar day, as a date input sends it */
export const isoDay = (d: Date): string => d.toISOString().slice(0, 10);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Mon D, YYYY": the UTC day as English pages show it (written out here, not imported: the date filter is under test) */
export const dayText = (d: Date): string => `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
