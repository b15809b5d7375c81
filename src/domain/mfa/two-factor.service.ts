// Two-factor authentication as users meet it: enroll, sign in, recover, manage. Every change is audited and mailed
// to the user in the same transaction.
import { sql, type Kysely } from 'kysely';
import type { Database, Db } from '../../db/database.ts';
import { bumpCredentialEpoch } from '../accounts/credential-epoch.ts';
import { recordAudit, type AuditEventName } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { Outbox } from '../email/outbox.ts';
import { DomainError, ValidationError } from '../errors.ts';
import type { RequestMeta, User, UserService } from '../users/user.service.ts';
import type { MfaPolicy } from './mfa-policy.ts';
import { consumeRecoveryCode, issueRecoveryCodes, remainingRecoveryCodes } from './recovery-codes.ts';
import type { ThrottleService } from './throttle.service.ts';
import type { PendingEnrollment, TotpDevice, TotpService } from './totp.service.ts';

export type SecondFactorResult = 'ok' | 'invalid' | 'throttled';

export class SecondFactorRequiredError extends DomainError {
  constructor() {
    super('second_factor_invalid', 'Enter your password and a current authentication code (or a recovery code).', 403);
  }
}

export class TwoFactorRequiredByPolicyError extends DomainError {
  constructor() {
    super('two_factor_required', 'Your organization requires two-factor authentication, so it cannot be turned off.', 409);
  }
}

export class FactorAlreadyActiveError extends DomainError {
  constructor() {
    super('factor_already_active', 'Two-factor authentication is already on for this account: sign in with it.', 409);
  }
}

export class SignInChangedError extends DomainError {
  constructor() {
    super('interaction_expired', 'This sign-in is no longer valid because the account changed. Start again.', 400);
  }
}

/** inside a sign-in: the transaction the change belongs to, and the epoch its password was checked under */
export interface SignInContext {
  uid: string;
  epoch: number;
}

export interface TwoFactorStatus {
  enabled: boolean;
  devices: TotpDevice[];
  recoveryRemaining: number;
}

const NOTICES: Record<string, { title: string; message: string }> = {
  'totp.enabled': { title: 'two-factor authentication turned on', message: 'Two-factor authentication was turned on for your account.' },
  'totp.device_added': { title: 'authenticator added', message: 'A new authenticator app was added to your account.' },
  'totp.device_removed': { title: 'authenticator removed', message: 'An authenticator app was removed from your account.' },
  'totp.disabled': { title: 'two-factor authentication turned off', message: 'Two-factor authentication was turned off for your account.' },
  'recovery_code.used': { title: 'recovery code used', message: 'A recovery code was used to sign in to your account. Set up a new authenticator if you lost your phone.' },
  'recovery_codes.regenerated': { title: 'new recovery codes', message: 'New recovery codes were created for your account; the old ones no longer work.' },
};

export function createTwoFactorService(deps: {
  db: Kysely<Database>;
  totp: TotpService;
  throttle: ThrottleService;
  users: UserService;
  outbox: Outbox;
  clock: Clock;
  issuer: string;
  policy: MfaPolicy;
}) {
  const { db, totp, throttle, users, outbox, clock } = deps;
  const throttleKey = (userId: string) => `mfa:${userId}`;

  /** audit row + notification email, in the caller's transaction */
  async function record(trx: Db, event: AuditEventName, user: User, meta: RequestMeta, data: Record<string, unknown> = {}) {
    await recordAudit(trx, { event, actorUserId: user.id, targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent, data });
    const notice = NOTICES[event];
    if (notice) {
      await outbox.enqueue(trx, user.email, 'security-notice', {
        ...notice,
        name: user.name,
        email: user.email,
        at: clock.now().toISOString(),
        ip: meta.ip,
        issuer: deps.issuer,
      });
    }
  }

  async function checkTotp(user: User, code: string, meta: RequestMeta): Promise<SecondFactorResult> {
    const gate = await throttle.attempt(throttleKey(user.id));
    if (!gate.allowed) {
      await recordAudit(db, { event: 'mfa.throttled', targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent, data: { retryAfter: gate.retryAfterSeconds } });
      return 'throttled';
    }
    const r = await totp.verify(user.id, code);
    if (r.ok) {
      await throttle.success(throttleKey(user.id));
      return 'ok';
    }
    await recordAudit(db, { event: r.replay ? 'totp.replay' : 'totp.failed', targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent });
    return 'invalid';
  }

  async function useRecoveryCode(user: User, code: string, meta: RequestMeta): Promise<SecondFactorResult> {
    const gate = await throttle.attempt(throttleKey(user.id));
    if (!gate.allowed) {
      await recordAudit(db, { event: 'mfa.throttled', targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent, data: { retryAfter: gate.retryAfterSeconds } });
      return 'throttled';
    }
    const ok = await db.transaction().execute(async (trx) => {
      if (!(await consumeRecoveryCode(trx, user.id, code))) return false;
      await record(trx, 'recovery_code.used', user, meta, { remaining: await remainingRecoveryCodes(trx, user.id) });
      return true;
    });
    if (ok) await throttle.success(throttleKey(user.id));
    else await recordAudit(db, { event: 'recovery_code.failed', targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent });
    return ok ? 'ok' : 'invalid';
  }

  /** password + (TOTP code or recovery code): the proof sensitive changes need */
  async function confirmBoth(user: User, password: string, code: string, meta: RequestMeta): Promise<void> {
    const passwordOk = await users.verifyPassword(user.id, password, meta);
    const factor = /^\s*\d{3}\s?\d{3}\s*$/.test(code) ? await checkTotp(user, code, meta) : await useRecoveryCode(user, code, meta);
    if (!passwordOk || factor !== 'ok') throw new SecondFactorRequiredError();
  }

  return {
    async isEnabled(userId: string): Promise<boolean> {
      return (await totp.devices(userId)).length > 0;
    },

    async status(userId: string): Promise<TwoFactorStatus> {
      const devices = await totp.devices(userId);
      return { enabled: devices.length > 0, devices, recoveryRemaining: await remainingRecoveryCodes(db, userId) };
    },

    /** password + (TOTP or recovery code), for changes that need both */
    confirmBoth,

    /** adding an authenticator: the password, and a current second factor once 2FA is on */
    async confirmToAdd(user: User, password: string, code: string, meta: RequestMeta): Promise<void> {
      if ((await totp.devices(user.id)).length > 0) return confirmBoth(user, password, code, meta);
      if (!(await users.verifyPassword(user.id, password, meta))) throw new DomainError('password_incorrect', 'That password is not right.', 403);
    },

    startEnrollment(user: User, name: string): Promise<PendingEnrollment> {
      const clean = name.trim().slice(0, 60) || 'Authenticator app';
      return totp.startEnrollment(user.id, user.email, clean);
    },

    pendingEnrollment(user: User, credentialId: string): Promise<PendingEnrollment | null> {
      return totp.pending(user.id, credentialId, user.email);
    },

    /**
     * Activates a pending authenticator with a code from it. The first authenticator (or a reset after a recovery
     * code, which removes all others) comes with a fresh set of recovery codes, returned once. Inside a sign-in
     * (`signIn`), the user row is locked and the sign-in's epoch must still be current: a credential change since its
     * password step (the owner reset the password, or turned 2FA on) ends it. A first enrollment (`firstOnly`) never
     * lands on an account that meanwhile got a factor: that sign-in must use the factor instead.
     */
    async activate(
      user: User,
      credentialId: string,
      code: string,
      meta: RequestMeta,
      opts: { replaceOthers?: boolean; firstOnly?: boolean; signIn?: SignInContext } = {},
    ): Promise<{ recoveryCodes: string[] | null; epoch: number }> {
      return db.transaction().execute(async (trx) => {
        const { credential_epoch } = await trx.selectFrom('users').select('credential_epoch').where('id', '=', user.id).forUpdate().executeTakeFirstOrThrow();
        if (opts.signIn && opts.signIn.epoch !== credential_epoch) throw new SignInChangedError();
        const hadFactor = (await trx.selectFrom('totp_credentials').select('id').where('user_id', '=', user.id).where('confirmed_at', 'is not', null).executeTakeFirst()) !== undefined;
        if (hadFactor && opts.firstOnly) throw new FactorAlreadyActiveError();
        if (!(await totp.confirm(trx, user.id, credentialId, code))) {
          throw new ValidationError('invalid_code', 'That code did not match. Check the time on your phone and enter the current code.');
        }
        if (opts.replaceOthers) {
          await trx.deleteFrom('totp_credentials').where('user_id', '=', user.id).where('id', '!=', credentialId).execute();
        }
        const fresh = !hadFactor || opts.replaceOthers;
        const recoveryCodes = fresh ? await issueRecoveryCodes(trx, user.id) : null;
        const epoch = await bumpCredentialEpoch(trx, user.id, { sessionId: meta.sessionId ?? undefined, authnUid: opts.signIn?.uid });
        await record(trx, fresh ? 'totp.enabled' : 'totp.device_added', user, meta, { credentialId, reset: Boolean(opts.replaceOthers) });
        return { recoveryCodes, epoch };
      });
    },

    checkTotp,
    useRecoveryCode,

    async regenerateRecoveryCodes(user: User, password: string, code: string, meta: RequestMeta): Promise<string[]> {
      await confirmBoth(user, password, code, meta);
      return db.transaction().execute(async (trx) => {
        const codes = await issueRecoveryCodes(trx, user.id);
        await bumpCredentialEpoch(trx, user.id, { sessionId: meta.sessionId ?? undefined });
        await record(trx, 'recovery_codes.regenerated', user, meta);
        return codes;
      });
    },

    /** during enrollment, before any code was saved: replaces the batch just shown (no extra proof needed) */
    async reissueRecoveryCodes(user: User, meta: RequestMeta, signIn: SignInContext): Promise<string[]> {
      return db.transaction().execute(async (trx) => {
        const { credential_epoch } = await trx.selectFrom('users').select('credential_epoch').where('id', '=', user.id).forUpdate().executeTakeFirstOrThrow();
        if (signIn.epoch !== credential_epoch) throw new SignInChangedError();
        const codes = await issueRecoveryCodes(trx, user.id);
        await bumpCredentialEpoch(trx, user.id, { authnUid: signIn.uid });
        await recordAudit(trx, { event: 'recovery_codes.regenerated', actorUserId: user.id, targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent, data: { reason: 'not_confirmed_saved' } });
        return codes;
      });
    },

    async removeDevice(user: User, deviceId: string, password: string, code: string, meta: RequestMeta): Promise<void> {
      const devices = await totp.devices(user.id);
      if (!devices.some((d) => d.id === deviceId)) throw new ValidationError('unknown_device', 'That authenticator is not on your account.');
      if (devices.length === 1) return this.disable(user, password, code, meta);
      await confirmBoth(user, password, code, meta);
      await db.transaction().execute(async (trx) => {
        // only while another authenticator remains: the user row lock serialises removals, and the count is read in the
        // deleting statement, so two removals at once cannot take the last two ("turn off" has its own checks)
        await trx.selectFrom('users').select('id').where('id', '=', user.id).forUpdate().execute();
        const res = await trx
          .deleteFrom('totp_credentials')
          .where('user_id', '=', user.id)
          .where('id', '=', deviceId)
          .where((eb) =>
            eb(
              eb.selectFrom('totp_credentials as other').select((o) => o.fn.countAll<string>().as('n')).where('other.user_id', '=', user.id).where('other.confirmed_at', 'is not', null).where('other.id', '!=', deviceId),
              '>',
              sql<string>`0`,
            ),
          )
          .executeTakeFirst();
        if (Number(res.numDeletedRows) !== 1) throw new ValidationError('last_device', 'This is your only authenticator: turn off two-factor authentication instead.');
        await bumpCredentialEpoch(trx, user.id, { sessionId: meta.sessionId ?? undefined });
        await record(trx, 'totp.device_removed', user, meta, { credentialId: deviceId });
      });
    },

    async disable(user: User, password: string, code: string, meta: RequestMeta): Promise<void> {
      if (!(await deps.policy.mayRemoveLastFactor(user.id))) throw new TwoFactorRequiredByPolicyError();
      await confirmBoth(user, password, code, meta);
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('totp_credentials').where('user_id', '=', user.id).execute();
        await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
        await bumpCredentialEpoch(trx, user.id, { sessionId: meta.sessionId ?? undefined });
        await record(trx, 'totp.disabled', user, meta);
      });
    },
  };
}

export type TwoFactorService = ReturnType<typeof createTwoFactorService>;
