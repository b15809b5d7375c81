// Security keys and passkeys as strategies of the sign-in state machine (sign-in-flow.ts): they read and move the
// same authn_transactions row with the same conditional moves, so the credential epoch, the step checks and the
// policy apply to them unchanged. amr comes from oidc/acr-amr.ts `amrFor`, from the flags the key signed.
import type { Kysely } from 'kysely';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { Database } from '../../db/database.ts';
import { amrFor, firstFactorOf, type Amr } from '../../oidc/acr-amr.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { RequestMeta, User, UserService } from '../users/user.service.ts';
import type { AuthnTransaction } from './authn-transaction.ts';
import { satisfiedBy, type MfaPolicy } from './mfa-policy.ts';
import type { SecurityKeys } from './security-keys.service.ts';
import type { FlowResult, RequestContext, Step } from './sign-in-flow.ts';
import { FactorAlreadyActiveError } from './two-factor.service.ts';
import type { WebAuthn } from './webauthn/webauthn.service.ts';

type Current = { tx: AuthnTransaction; user: User };

export interface KeyStepDeps {
  db: Kysely<Database>;
  clock: Clock;
  users: UserService;
  policy: MfaPolicy;
  webauthn: WebAuthn;
  keys: SecurityKeys;
  current(uid: string, state: Step): Promise<Current | null>;
  finish(c: Current, amr?: Amr[]): Promise<FlowResult>;
  move(c: Current, state: Step, amr: Amr[], next: FlowResult): Promise<FlowResult>;
  done(user: User, amr: Amr[], epoch: number): Promise<FlowResult>;
  proved(c: Current, kind: 'webauthn', amr: Amr[]): Promise<FlowResult>;
}

export function createKeySteps(deps: KeyStepDeps) {
  const { db, webauthn, current } = deps;
  const keysAllowed = (c: Current | null): c is Current => Boolean(c?.tx.allowedFactors.includes('webauthn'));

  return {
    /** the second factor step with a key: a challenge for the user's keys, bound to this interaction */
    async keyOptions(uid: string): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
      const c = await current(uid, 'second_factor');
      if (!c) return null;
      return webauthn.assertionOptions(uid, 'second_factor', { userId: c.user.id, userVerification: 'discouraged' });
    },

    /** password + key: [pwd, hwk|swk, (user), mfa] */
    async securityKey(uid: string, raw: string, meta: RequestMeta): Promise<FlowResult> {
      const c = await current(uid, 'second_factor');
      if (!c) return { outcome: 'expired' };
      const r = await webauthn.verifyAssertion(uid, 'second_factor', raw, meta);
      if (!r.ok || r.userId !== c.user.id) return { outcome: 'invalid' };
      return deps.proved(c, 'webauthn', amrFor({ ...firstFactorOf(c.tx.amr), key: { synced: r.synced, userVerified: r.userVerified } }));
    },

    /** a passkey request (no user named: the authenticator offers its discoverable credentials), for this interaction */
    passkeyOptions(uid: string): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
      return webauthn.assertionOptions(uid, 'passkey', { userVerification: 'preferred' });
    },

    /**
     * Passkey sign-in without a password. With user verification it is two factors ([hwk|swk, user, mfa]) and
     * satisfies any requirement. Without, it is one factor: the account has a key, so it is a 2FA account, and a
     * one-factor sign-in is never enough for it (decision D7): the user signs in with the password and the key.
     */
    async passkey(uid: string, raw: string, meta: RequestMeta, request: RequestContext): Promise<FlowResult> {
      const r = await webauthn.verifyAssertion(uid, 'passkey', raw, meta);
      const audit = (event: 'login.succeeded' | 'login.failed', userId: string | null, data: Record<string, unknown>) =>
        recordAudit(db, { event, targetUserId: userId, clientId: request.clientId ?? null, ip: meta.ip, userAgent: meta.userAgent, data: { method: 'passkey', ...data } });
      if (!r.ok) {
        await audit('login.failed', null, { reason: `passkey_${r.reason}` });
        return { outcome: 'invalid' };
      }
      const user = await deps.users.findById(r.userId);
      if (!user) return { outcome: 'invalid' };
      const amr = amrFor({ key: { synced: r.synced, userVerified: r.userVerified } });
      const decision = await deps.policy.decide({ userId: user.id, ...request });
      if (!amr.includes('mfa') || !satisfiedBy(decision, amr)) {
        await audit('login.failed', user.id, { reason: 'no_user_verification', amr });
        return { outcome: 'one_factor' };
      }
      await audit('login.succeeded', user.id, { amr });
      // a password step begun earlier in this interaction is superseded
      await db.deleteFrom('authn_transactions').where('uid', '=', uid).execute();
      return deps.done(user, amr, r.epoch);
    },

    /** enrollment of a key inside a sign-in (an organization allows keys, or only keys): registration options */
    async keyEnrollmentOptions(uid: string): Promise<PublicKeyCredentialCreationOptionsJSON | null> {
      const c = await current(uid, 'enroll');
      return keysAllowed(c) ? webauthn.registrationOptions(c.user, uid) : null;
    },

    /** the new key, registered (pending), and the challenge it must now sign to count */
    async registerKey(uid: string, raw: string, name: string): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
      const c = await current(uid, 'enroll');
      return keysAllowed(c) ? deps.keys.register(c.user, uid, raw, name) : null;
    },

    /**
     * The new key signs once: it becomes a factor and the sign-in carries what the key proved. A first factor (or a
     * reset after a recovery code, where the key replaces every other factor) comes with recovery codes, shown next,
     * once. A first enrollment never lands on an account that got a factor meanwhile (null: the sign-in moves to the
     * second factor). An upgrade (the user proved an app code the organization no longer counts) keeps everything
     * and completes the sign-in.
     */
    async activateKey(uid: string, raw: string, meta: RequestMeta): Promise<{ recoveryCodes: string[] } | { done: FlowResult } | null> {
      const c = await current(uid, 'enroll');
      if (!keysAllowed(c)) return null;
      const kind = c.tx.upgrade ? 'upgrade' : c.tx.amr.includes('otp') ? 'first' : 'reset';
      let result;
      try {
        result = await deps.keys.activate(c.user, uid, raw, meta, { replaceOthers: kind === 'reset', firstOnly: kind === 'first', signIn: { uid, epoch: c.tx.epoch } });
      } catch (err) {
        if (!(err instanceof FactorAlreadyActiveError)) throw err;
        await deps.move(c, 'second_factor', c.tx.amr as Amr[], { outcome: 'next', step: 'second_factor' });
        return null;
      }
      const key = { synced: result.synced, userVerified: result.userVerified };
      const after = { tx: { ...c.tx, epoch: result.epoch }, user: c.user };
      if (kind === 'upgrade') return { done: await deps.finish(after, amrFor({ ...firstFactorOf(c.tx.amr), totp: c.tx.amr.includes('otp'), key })) };
      const amr = amrFor({ ...firstFactorOf(c.tx.amr), recoveryCode: kind === 'reset', key });
      const moved = await deps.move(after, 'recovery_codes', amr, { outcome: 'next', step: 'recovery_codes' });
      return moved.outcome === 'next' ? { recoveryCodes: result.recoveryCodes ?? [] } : null;
    },
  };
}
