// Two-factor authentication as users meet it: enroll, sign in, recover, manage. Every change is audited and mailed
// to the user in the same transaction.
import { sql, type Kysely } from 'kysely';
import type { Database, Db } from '../../db/database.ts';
import { activeFactorKinds } from './factor-kinds.ts';
import { bumpCredentialEpoch } from '../accounts/credential-epoch.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { Outbox } from '../email/outbox.ts';
import { DomainError, ValidationError } from '../errors.ts';
import { FactorAlreadyActiveError, SecondFactorRequiredError, SignInChangedError, TwoFactorRequiredByPolicyError } from './two-factor-errors.ts';
import type { RequestMeta, User, UserService } from '../users/user.service.ts';
import { anotherFactorRemains, FactorKindRequiredByPolicyError, hasFactor, RecoveryCodesNotViewableError, removeAllFactors, type FactorRef, type SecondFactorProof } from './factors.ts';

export type { SecondFactorProof };
import type { FactorKind, MfaPolicy } from './mfa-policy.ts';
import { consumeRecoveryCode, issueRecoveryCodes, remainingRecoveryCodes, viewRecoveryCodes, type RecoveryCodeSealing } from './recovery-codes.ts';
import { createSecurityRecorder } from './security-notice.ts';
import { PER_ACCOUNT, type ThrottlePolicy, type ThrottleService } from './throttle.service.ts';
import type { ActiveAuthenticator, PendingEnrollment, TotpDevice, TotpService, WithSpent } from './totp.service.ts';
import type { SecurityKey, WebAuthn } from './webauthn/webauthn.service.ts';

export type SecondFactorResult = 'ok' | 'invalid' | 'throttled';

export { FactorAlreadyActiveError, SecondFactorRequiredError, SignInChangedError, TwoFactorRequiredByPolicyError };

/** inside a sign-in: the transaction the change belongs to, and the epoch its password was checked under */
export interface SignInContext {
  uid: string;
  epoch: number;
}

export interface TwoFactorStatus {
  enabled: boolean;
  devices: TotpDevice[];
  keys: SecurityKey[];
  recoveryRemaining: number;
}


export function createTwoFactorService(deps: {
  db: Kysely<Database>;
  totp: TotpService;
  throttle: ThrottleService;
  users: UserService;
  outbox: Outbox;
  clock: Clock;
  issuer: string;
  policy: MfaPolicy;
  webauthn: WebAuthn;
  box: SecretBox;
  /** keep a sealed copy of recovery codes so that they can be viewed again */
  recoveryCodesViewable: boolean;
}) {
  const { db, totp, throttle, users, webauthn } = deps;
  /** the second factors' guess counter: one per user (attempts at codes, recovery codes) */
  const CODE_ATTEMPTS: { keyPrefix: string; policy: ThrottlePolicy } = { keyPrefix: 'mfa:', policy: PER_ACCOUNT };
  const throttleKey = (userId: string) => `${CODE_ATTEMPTS.keyPrefix}${userId}`;
  /** audit row + notification email, in the caller's transaction */
  const record = createSecurityRecorder(deps);
  const sealing: RecoveryCodeSealing | undefined = deps.recoveryCodesViewable ? { box: deps.box } : undefined;

  /** the user's active kinds of second factor, security keys first: one statement, asked at every sign-in step */
  async function factorKinds(userId: string): Promise<FactorKind[]> {
    return activeFactorKinds(db, userId);
  }

  /**
   * `ahead`: the user's authenticators when the caller read them already (sign-in-flow.ts, with the transaction);
   * `withSpent`: writes that go with a right code, in the statement that spends its step (the sign-in's completion);
   * `along`: the row they hand back (totp.service.ts WithSpent). `admitted`: the attempt's admission when the caller's
   * statement made it (on the counter `codeAttempts` names), else it is made here
   */
  async function checkTotpWith(user: User, code: string, meta: RequestMeta, ahead?: ActiveAuthenticator[], withSpent?: WithSpent, admitted?: boolean): Promise<{ result: SecondFactorResult; along?: unknown }> {
    // the authenticators (unless the caller has them) are read beside the attempt's admission: a read, left unused
    // when the attempt is refused; the code itself is checked only once admitted
    const admission = admitted === undefined ? throttle.attempt(throttleKey(user.id)) : admitted ? { allowed: true as const } : throttle.refusal(throttleKey(user.id));
    const [gate, authenticators] = await Promise.all([admission, ahead ?? totp.active(user.id)]);
    if (!gate.allowed) {
      await recordAudit(db, { event: 'mfa.throttled', targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent, data: { retryAfter: gate.retryAfterSeconds } });
      return { result: 'throttled' };
    }
    // a right code clears the counter in the statement that spends its step (with the caller's writes)
    const r = await totp.verify(user.id, code, authenticators, { writes: [['also', throttle.successWithin(throttleKey(user.id))], ...(withSpent?.writes ?? [])], returning: withSpent?.returning });
    if (r.ok) return { result: 'ok', along: r.along };
    await recordAudit(db, { event: r.replay ? 'totp.replay' : 'totp.failed', targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent });
    return { result: 'invalid' };
  }

  /** checkTotpWith() without writes of the caller's */
  async function checkTotp(user: User, code: string, meta: RequestMeta, ahead?: ActiveAuthenticator[]): Promise<SecondFactorResult> {
    return (await checkTotpWith(user, code, meta, ahead)).result;
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

  /** a security key's assertion over the session's confirmation challenge, by this user */
  async function checkKey(user: User, assertion: string, meta: RequestMeta): Promise<SecondFactorResult> {
    if (!meta.sessionId) return 'invalid';
    const r = await webauthn.verifyAssertion(meta.sessionId, 'confirm', assertion, meta);
    return r.ok && r.userId === user.id ? 'ok' : 'invalid';
  }

  /** password + (TOTP code, recovery code or security key): the proof sensitive changes need */
  async function confirmBoth(user: User, password: string, proof: string | SecondFactorProof, meta: RequestMeta): Promise<void> {
    const { code = '', assertion } = typeof proof === 'string' ? { code: proof } : proof;
    const passwordOk = await users.verifyPassword(user.id, password, meta);
    const factor = assertion ? await checkKey(user, assertion, meta) : /^\s*\d{3}\s?\d{3}\s*$/.test(code) ? await checkTotp(user, code, meta) : await useRecoveryCode(user, code, meta);
    if (!passwordOk || factor !== 'ok') throw new SecondFactorRequiredError();
  }

  const service = {
    /** any second factor: an authenticator app or a security key */
    async isEnabled(userId: string): Promise<boolean> {
      return (await factorKinds(userId)).length > 0;
    },

    factorKinds,

    async status(userId: string): Promise<TwoFactorStatus> {
      const [devices, keys, recoveryRemaining] = await Promise.all([totp.devices(userId), webauthn.keys(userId), remainingRecoveryCodes(db, userId)]);
      return { enabled: devices.length + keys.length > 0, devices, keys, recoveryRemaining };
    },

    /** password + (TOTP, recovery code or security key), for changes that need both */
    confirmBoth,

    /** a security key challenge for the confirmation forms of the account pages, bound to the session */
    async confirmationOptions(user: User, sessionId: string) {
      return webauthn.assertionOptions(sessionId, 'confirm', { userId: user.id, userVerification: 'discouraged' });
    },

    /** adding an authenticator or a key: the password, and a current second factor once 2FA is on */
    async confirmToAdd(user: User, password: string, proof: string | SecondFactorProof, meta: RequestMeta): Promise<void> {
      if ((await factorKinds(user.id)).length > 0) return confirmBoth(user, password, proof, meta);
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
        const hadFactor = await hasFactor(trx, user.id);
        if (hadFactor && opts.firstOnly) throw new FactorAlreadyActiveError();
        if (!(await totp.confirm(trx, user.id, credentialId, code))) {
          throw new ValidationError('invalid_code', 'That code did not match. Check the time on your phone and enter the current code.');
        }
        // lost phone: the new authenticator replaces every other factor (other authenticators and keys)
        if (opts.replaceOthers) await removeAllFactors(trx, user.id, { keepTotp: credentialId, keepRecoveryCodes: true });
        const fresh = !hadFactor || opts.replaceOthers;
        const recoveryCodes = fresh ? await issueRecoveryCodes(trx, user.id, sealing) : null;
        const epoch = await bumpCredentialEpoch(trx, user.id, { sessionId: meta.sessionId ?? undefined, authnUid: opts.signIn?.uid });
        await record(trx, fresh ? 'totp.enabled' : 'totp.device_added', user, meta, { credentialId, reset: Boolean(opts.replaceOthers) });
        return { recoveryCodes, epoch };
      });
    },

    checkTotp,
    checkTotpWith,
    /** the counter an attempt at a code counts on, for a statement that admits it itself (checkTotpWith's `admitted`) */
    codeAttempts: CODE_ATTEMPTS,
    useRecoveryCode,

    async regenerateRecoveryCodes(user: User, password: string, proof: string | SecondFactorProof, meta: RequestMeta): Promise<string[]> {
      await confirmBoth(user, password, proof, meta);
      return db.transaction().execute(async (trx) => {
        const codes = await issueRecoveryCodes(trx, user.id, sealing);
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
        const codes = await issueRecoveryCodes(trx, user.id, sealing);
        await bumpCredentialEpoch(trx, user.id, { authnUid: signIn.uid });
        await recordAudit(trx, { event: 'recovery_codes.regenerated', actorUserId: user.id, targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent, data: { reason: 'not_confirmed_saved' } });
        return codes;
      });
    },

    /** shows the unused codes of the current batch again, after the password and a second factor; audited and mailed */
    async viewRecoveryCodes(user: User, password: string, proof: string | SecondFactorProof, meta: RequestMeta): Promise<{ codes: string[]; hidden: number }> {
      if (!sealing) throw new RecoveryCodesNotViewableError();
      await confirmBoth(user, password, proof, meta);
      return db.transaction().execute(async (trx) => {
        const shown = await viewRecoveryCodes(trx, user.id, sealing);
        await record(trx, 'recovery_codes.viewed', user, meta, { shown: shown.codes.length });
        return shown;
      });
    },

    /** an authenticator app; removing the last factor of all turns two-factor authentication off */
    async removeDevice(user: User, deviceId: string, password: string, proof: string | SecondFactorProof, meta: RequestMeta): Promise<void> {
      if (!(await totp.devices(user.id)).some((d) => d.id === deviceId)) throw new ValidationError('unknown_device', 'That authenticator is not on your account.');
      return removeFactor(user, { kind: 'totp', id: deviceId }, password, proof, meta);
    },

    /** a security key or passkey, under the same rules as an authenticator */
    async removeKey(user: User, keyId: string, password: string, proof: string | SecondFactorProof, meta: RequestMeta): Promise<void> {
      if (!(await webauthn.keys(user.id)).some((k) => k.id === keyId)) throw new ValidationError('unknown_key', 'That security key is not on your account.');
      return removeFactor(user, { kind: 'webauthn', id: keyId }, password, proof, meta);
    },

    async disable(user: User, password: string, proof: string | SecondFactorProof, meta: RequestMeta): Promise<void> {
      if (!(await deps.policy.mayRemoveFactors(user.id, []))) throw new TwoFactorRequiredByPolicyError();
      await confirmBoth(user, password, proof, meta);
      await db.transaction().execute(async (trx) => {
        await removeAllFactors(trx, user.id);
        await bumpCredentialEpoch(trx, user.id, { sessionId: meta.sessionId ?? undefined });
        await record(trx, 'totp.disabled', user, meta);
      });
    },
  };

  /**
   * Removes one factor. The last one of all means turning 2FA off (its own checks); otherwise what remains must
   * still satisfy every organization of the user that requires 2FA (e.g. a key stays when only keys are allowed).
   */
  async function removeFactor(user: User, factor: FactorRef, password: string, proof: string | SecondFactorProof, meta: RequestMeta): Promise<void> {
    const [devices, keys] = await Promise.all([totp.devices(user.id), webauthn.keys(user.id)]);
    const remaining = { totp: devices.filter((d) => factor.kind !== 'totp' || d.id !== factor.id).length, webauthn: keys.filter((k) => factor.kind !== 'webauthn' || k.id !== factor.id).length };
    if (remaining.totp + remaining.webauthn === 0) return service.disable(user, password, proof, meta);
    const kinds = (['totp', 'webauthn'] as const).filter((k) => remaining[k] > 0);
    if (!(await deps.policy.mayRemoveFactors(user.id, kinds))) throw new FactorKindRequiredByPolicyError();
    await confirmBoth(user, password, proof, meta);
    await db.transaction().execute(async (trx) => {
      // only while another factor remains: the user row lock serialises removals, and the count is read in the
      // deleting statement, so two removals at once cannot take the last two ("turn off" has its own checks)
      await trx.selectFrom('users').select('id').where('id', '=', user.id).forUpdate().execute();
      const table = factor.kind === 'totp' ? 'totp_credentials' : 'webauthn_credentials';
      const res = await trx.deleteFrom(table).where('user_id', '=', user.id).where('id', '=', factor.id).where(anotherFactorRemains(user.id, factor)).executeTakeFirst();
      if (Number(res.numDeletedRows) !== 1) throw new ValidationError('last_device', 'This is your only second factor: turn off two-factor authentication instead.');
      await bumpCredentialEpoch(trx, user.id, { sessionId: meta.sessionId ?? undefined });
      if (factor.kind === 'totp') await record(trx, 'totp.device_removed', user, meta, { credentialId: factor.id });
      else await record(trx, 'webauthn.removed', user, meta, { keyId: factor.id });
    });
  }

  return service;
}

export type TwoFactorService = ReturnType<typeof createTwoFactorService>;
