// The steps of a sign-in after the password, as a small state machine over authn_transactions.
// Password only → done with amr [pwd]. Password + TOTP → [pwd, otp, mfa]. Recovery code → forced re-enrollment,
// then [pwd, mfa] (decision D1: a recovery code is a second factor, but not an OTP). Security keys and passkeys are
// strategies of the same machine (sign-in-keys.ts). Every amr comes from oidc/acr-amr.ts `amrFor`.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../clock.ts';
import { userFromJson, type RequestMeta, type User, type UserService } from '../users/user.service.ts';
import { findAuthnTransaction, findAuthnTransactionWithKinds, findAuthnTransactionWithUser, moveAuthnTransaction, takeAuthnTransaction, takeWhenSpent, transactionFromJson, type AuthnTransaction } from './authn-transaction.ts';
import type { ActiveAuthenticator, PendingEnrollment } from './totp.service.ts';
import { FactorAlreadyActiveError, type TwoFactorService } from './two-factor.service.ts';
import type { ThrottleService } from './throttle.service.ts';
import type { FactorKind, MfaPolicy } from './mfa-policy.ts';
import { amrFor, firstFactorOf, type Amr } from '../../oidc/acr-amr.ts';
import { createFederatedSteps } from '../federation/federated-steps.ts';
import { createKeySteps } from './sign-in-keys.ts';
import { createPasswordStep } from './sign-in-password.ts';
import type { SecurityKeys } from './security-keys.service.ts';
import type { WebAuthn } from './webauthn/webauthn.service.ts';
import { auditWithin, type AuditRow } from '../audit/audit.service.ts';

export type { Amr };
export const AMR_PASSWORD: Amr[] = amrFor({ password: true });
export const AMR_TOTP: Amr[] = amrFor({ password: true, totp: true });
export const AMR_RECOVERY: Amr[] = amrFor({ password: true, recoveryCode: true });

export type Step = 'second_factor' | 'enroll' | 'recovery_codes' | 'grace';

export type FlowResult =
  /** `linkProposed`: whether an upstream proposed a link to this sign-in, when the step read it (else undefined) */
  | { outcome: 'done'; user: User; amr: Amr[]; epoch: number; linkProposed?: boolean }
  /** `factors`: what factors() would answer for this step, when the step that moved here knew it already */
  | { outcome: 'next'; step: Step; factors?: FactorChoice }
  | { outcome: 'invalid' }
  | { outcome: 'throttled' }
  | { outcome: 'expired' }
  /** a passkey without user verification: one factor, not enough for an account that has two */
  | { outcome: 'one_factor' }
  /** an organization of the user does not allow this sign-in method */
  | { outcome: 'method_refused'; organization: string; allowed: string[] };

/** where a sign-in stands between steps: which second factors it can use now, and which it may set up */
export interface FactorChoice {
  /** the user's factors to use at the second factor step, security keys first: those the policy counts, or, with none, all (an upgrade follows) */
  usable: FactorKind[];
  /** what the policy counts: a proof with another kind leads on to adding one of these (an upgrade) */
  allowed: FactorKind[];
}

/** why a sign-in is at its enrollment step: no factor yet, a recovery code (lost device), or an upgrade */
export type EnrollmentKind = 'first' | 'reset' | 'upgrade';

/** a completed sign-in (FlowResult's `done`) */
export type SignInDone = Extract<FlowResult, { outcome: 'done' }>;

/** the password step's result, and whose password it was when right (for the device cookie) */
export type PasswordResult = FlowResult & { userId?: string; credentialEpoch?: number };

export interface RequestContext {
  clientId?: string;
  acrValues?: string;
  essentialAcrs?: string[];
}

/** the user's factors usable at a step: the kinds that count, when the user has one; otherwise any of theirs, to prove who they are before adding one */
export function choiceOf(kinds: FactorKind[], allowed: FactorKind[]): FactorChoice {
  const counted = kinds.filter((k) => allowed.includes(k));
  return { usable: counted.length ? counted : kinds, allowed };
}

export function createSignInFlow(deps: {
  db: Kysely<Database>;
  users: UserService;
  twoFactor: TwoFactorService;
  throttle: ThrottleService;
  policy: MfaPolicy;
  clock: Clock;
  ttlSeconds: number;
  webauthn: WebAuthn;
  keys: SecurityKeys;
}) {
  const { db, users, twoFactor, throttle, clock } = deps;

  async function current(
    uid: string,
    state: AuthnTransaction['state'],
    opts: Parameters<typeof findAuthnTransactionWithUser>[3] = {},
  ): Promise<{ tx: AuthnTransaction; user: User; linkProposed: boolean; authenticators?: ActiveAuthenticator[]; admitted?: boolean } | null> {
    const found = await findAuthnTransactionWithUser(db, clock, uid, opts);
    if (!found || found.tx.state !== state) return null;
    const user = userFromJson(found.userRow);
    return user ? { tx: found.tx, user, linkProposed: found.linkProposed, authenticators: found.authenticators, admitted: found.admitted } : null;
  }

  /** a completed sign-in: remembered per membership for the tenant admins' member list */
  async function done(user: User, amr: Amr[], epoch: number, stampMemberships = true): Promise<SignInDone> {
    // false: nothing to stamp (a user known to belong to no organization), or already stamped (finish() and a right
    // code, with their take)
    if (stampMemberships) await db.updateTable('tenant_members').set({ last_sign_in_at: clock.now(), last_sign_in_amr: amr }).where('user_id', '=', user.id).where('accepted_at', 'is not', null).execute();
    return { outcome: 'done', user, amr, epoch };
  }

  /** completes the sign-in with the transaction the caller checked (same user, same step), or not at all; `amr`: what the last step proved */
  async function finish(c: { tx: AuthnTransaction; user: User }, amr?: Amr[]): Promise<FlowResult> {
    // the take and done()'s membership stamp in one statement
    const tx = await takeAuthnTransaction(db, clock, c.tx, { stampMemberships: { amr } });
    return tx ? done(c.user, amr ?? (tx.amr as Amr[]), tx.epoch, false) : { outcome: 'expired' };
  }

  async function move(c: { tx: AuthnTransaction }, state: Step, amr: Amr[], next: FlowResult, opts: { upgrade?: boolean } = {}): Promise<FlowResult> {
    return (await moveAuthnTransaction(db, clock, c.tx, state, amr, opts)) ? next : { outcome: 'expired' };
  }

  /** a second factor proved: done, or, if the policy does not count its kind, on to adding one it does (upgrade) */
  async function proved(c: { tx: AuthnTransaction; user: User }, kind: FactorKind, amr: Amr[]): Promise<FlowResult> {
    if (c.tx.allowedFactors.includes(kind)) return finish(c, amr);
    return move(c, 'enroll', amr, { outcome: 'next', step: 'enroll' }, { upgrade: true });
  }

  /** the amr of this sign-in with an authenticator code after its first factor (password or upstream provider) */
  const withTotp = (tx: AuthnTransaction): Amr[] => amrFor({ ...firstFactorOf(tx.amr), totp: true });

  /** the step this sign-in is at and its factors (factors()), with one read of the transaction: a step's page */
  async function at(uid: string): Promise<{ step: Step; factors: FactorChoice } | null> {
    const found = await findAuthnTransactionWithKinds(db, clock, uid);
    return found ? { step: found.tx.state, factors: choiceOf(found.kinds, found.tx.allowedFactors) } : null;
  }

  async function enrollment(uid: string): Promise<EnrollmentKind> {
    const tx = await findAuthnTransaction(db, clock, uid);
    return tx?.upgrade ? 'upgrade' : tx?.amr.includes('otp') ? 'first' : 'reset';
  }

  return {
    /**
     * a sign-in completed (every step done): its audit row saying how, and to which app, as a write that goes out
     * with the login result's (auditWithin: the caller's statement carries it)
     */
    signedIn(userId: string, amr: Amr[], clientId: string | null, meta: RequestMeta, at: Date): AuditRow {
      // ts: the session's login time (the same instant the provider stores), so the sessions list finds its device
      return auditWithin({ event: 'login.completed', targetUserId: userId, clientId, ip: meta.ip, userAgent: meta.userAgent, data: { amr, ts: Math.floor(at.getTime() / 1000) } });
    },

    /** where this interaction stands, if past its password step */
    async step(uid: string): Promise<Step | null> {
      return (await findAuthnTransaction(db, clock, uid))?.state ?? null;
    },

    async userFor(uid: string, state: Step): Promise<User | null> {
      return (await current(uid, state))?.user ?? null;
    },

    at,

    /** the factors this sign-in can use (second factor step) and may set up (enrollment), for the pages' choices */
    async factors(uid: string): Promise<FactorChoice | null> {
      return (await at(uid))?.factors ?? null;
    },

    enrollment,

    /** `checked`: the caller's own check of the request (its interaction's read), awaited before anything is counted */
    async totp(uid: string, code: string, meta: RequestMeta, checked?: Promise<unknown>): Promise<FlowResult> {
      // once the interaction is this browser's: the transaction, with the user's authenticators (what the code is
      // checked against), and the attempt's admission on the user's counter, in one statement
      await checked;
      const c = await current(uid, 'second_factor', { authenticators: true, admit: twoFactor.codeAttempts });
      if (!c) return { outcome: 'expired' };
      const amr = withTotp(c.tx);
      // a code the policy counts completes the sign-in: the take (and the memberships' stamp) go with the statement
      // that spends the code's step, only if it was spent; a code it does not count moves on to adding one (proved())
      const completes = c.tx.allowedFactors.includes('totp');
      const r = await twoFactor.checkTotpWith(c.user, code, meta, c.authenticators, completes ? takeWhenSpent(c.tx, clock, amr) : undefined, c.admitted ?? false);
      if (r.result !== 'ok') return { outcome: r.result };
      if (!completes) return proved(c, 'totp', amr);
      if (!r.along) return { outcome: 'expired' };
      return { ...(await done(c.user, amr, transactionFromJson(r.along).epoch, false)), linkProposed: c.linkProposed };
    },

    /** a recovery code lets the user in, then takes them to set up a new authenticator (old ones go) */
    async recoveryCode(uid: string, code: string, meta: RequestMeta): Promise<FlowResult> {
      const c = await current(uid, 'second_factor');
      if (!c) return { outcome: 'expired' };
      const r = await twoFactor.useRecoveryCode(c.user, code, meta);
      if (r !== 'ok') return { outcome: r };
      return move(c, 'enroll', amrFor({ ...firstFactorOf(c.tx.amr), recoveryCode: true }), { outcome: 'next', step: 'enroll' });
    },

    /** true when this enrollment sets up a user's first factor (not a reset after a recovery code) */
    async isFirstEnrollment(uid: string): Promise<boolean> {
      return (await enrollment(uid)) !== 'reset';
    },

    /**
     * The grace reminder: "set up now" moves to enrollment, "later" finishes with the password only. If 2FA became
     * active since the password step (the owner set it up elsewhere), this sign-in must use it: either way, it moves
     * to the second factor. (An epoch change would already have ended it; this keeps the rule local too.)
     */
    async grace(uid: string, choice: 'setup' | 'later'): Promise<FlowResult> {
      const c = await current(uid, 'grace');
      if (!c) return { outcome: 'expired' };
      if (await twoFactor.isEnabled(c.user.id)) return move(c, 'second_factor', withTotp(c.tx), { outcome: 'next', step: 'second_factor' });
      if (choice === 'later') return finish(c);
      return move(c, 'enroll', withTotp(c.tx), { outcome: 'next', step: 'enroll' });
    },

    /** the deadline to show on the grace page, and the organizations whose rule it is */
    async graceDeadline(uid: string): Promise<{ until: Date; organizations: string[] } | null> {
      const c = await current(uid, 'grace');
      const d = c ? await deps.policy.decide({ userId: c.user.id }) : null;
      return d?.graceUntil ? { until: d.graceUntil, organizations: d.graceOrganizations } : null;
    },

    /** who requires the second factor this enrollment sets up: organizations by name, and/or the app itself */
    async requiredBy(uid: string, clientId: string): Promise<{ organizations: string[]; graceOrganizations: string[]; app: boolean } | null> {
      const c = await current(uid, 'enroll');
      if (!c) return null;
      const d = await deps.policy.decide({ userId: c.user.id, clientId });
      return { organizations: d.organizations, graceOrganizations: d.graceOrganizations, app: d.reasons.includes('client') || d.reasons.includes('request') };
    },

    async startEnrollment(uid: string): Promise<PendingEnrollment | null> {
      const c = await current(uid, 'enroll');
      return c && c.tx.allowedFactors.includes('totp') ? twoFactor.startEnrollment(c.user, 'Authenticator app') : null;
    },

    async pendingEnrollment(uid: string, credentialId: string): Promise<PendingEnrollment | null> {
      const c = await current(uid, 'enroll');
      return c ? twoFactor.pendingEnrollment(c.user, credentialId) : null;
    },

    /**
     * Activates the new authenticator and returns the new recovery codes, shown once. A first enrollment never
     * replaces anything: if the account got a factor meanwhile, the sign-in moves to the second factor instead (null).
     * After a recovery code (which proved a second factor) the new authenticator replaces all others (lost phone).
     */
    async activate(uid: string, credentialId: string, code: string, meta: RequestMeta): Promise<{ recoveryCodes: string[] } | null> {
      const c = await current(uid, 'enroll');
      if (!c || !c.tx.allowedFactors.includes('totp')) return null;
      const first = c.tx.amr.includes('otp');
      let result: { recoveryCodes: string[] | null; epoch: number };
      try {
        result = await twoFactor.activate(c.user, credentialId, code, meta, { replaceOthers: !first, firstOnly: first, signIn: { uid, epoch: c.tx.epoch } });
      } catch (err) {
        if (err instanceof FactorAlreadyActiveError) {
          await moveAuthnTransaction(db, clock, c.tx, 'second_factor', withTotp(c.tx));
          return null;
        }
        throw err;
      }
      if (!(await moveAuthnTransaction(db, clock, { ...c.tx, epoch: result.epoch }, 'recovery_codes', c.tx.amr))) return null;
      return { recoveryCodes: result.recoveryCodes ?? [] };
    },

    /** the user confirmed they saved the codes: the sign-in completes */
    async codesSaved(uid: string): Promise<FlowResult> {
      const c = await current(uid, 'recovery_codes');
      return c ? finish(c) : { outcome: 'expired' };
    },

    /** the box was not ticked: the codes shown are gone, so new ones replace them */
    async reissueCodes(uid: string, meta: RequestMeta): Promise<string[] | null> {
      const c = await current(uid, 'recovery_codes');
      return c ? twoFactor.reissueRecoveryCodes(c.user, meta, { uid, epoch: c.tx.epoch }) : null;
    },

    // the password: the first step of every sign-in with one (sign-in-password.ts)
    ...createPasswordStep({ db, users, throttle, policy: deps.policy, clock, ttlSeconds: deps.ttlSeconds, done }),

    // security keys and passkeys: the same machine, the same conditional moves
    ...createKeySteps({ db, clock, users, policy: deps.policy, webauthn: deps.webauthn, keys: deps.keys, current, finish, move, done, proved }),

    // a sign-in through an upstream OpenID provider: the same row, the same moves (domain/federation)
    ...createFederatedSteps({ db, clock, twoFactor, policy: deps.policy, ttlSeconds: deps.ttlSeconds, done }),
  };
}

export type SignInFlow = ReturnType<typeof createSignInFlow>;
