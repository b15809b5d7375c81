import { generateSync } from 'otplib';
import type { Services } from '../../src/container.ts';
import type { User } from '../../src/domain/users/user.service.ts';

/** the code an authenticator app shows for this secret at this time */
export function codeFor(secret: string, at: Date = new Date()): string {
  return generateSync({ secret, epoch: Math.floor(at.getTime() / 1000) });
}

/** a controllable clock for TOTP windows and expiries */
export function fixedClock(start: Date) {
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
