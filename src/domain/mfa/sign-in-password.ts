// The password step of a sign-in (sign-in-flow.ts): the guess counters, the hash, what the policy reads, and the move
// to the next step or the end. Its statements go out beside each other where nothing orders them, and as one where
// they can: the account's row (with what the step needs next, in the same statement) beside the counters; a right
// password's writes (the counters' settlement, its audit row, the sign-in's next step) in one statement.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../clock.ts';
import { auditAlong, auditWithin, recordAudit } from '../audit/audit.service.ts';
import { allows, firstRefusing } from '../federation/sign-in-methods.ts';
import { passwordThrottleKey } from '../users/password-throttle.ts';
import type { AuthenticatedUser, RequestMeta, User, UserService } from '../users/user.service.ts';
import type { Amr } from '../../oidc/acr-amr.ts';
import { beginAlong } from './authn-transaction.ts';
import { FACTOR_KINDS, type MfaPolicy } from './mfa-policy.ts';
import { accountWithFacts } from './sign-in-facts.ts';
import { AMR_PASSWORD, AMR_TOTP, choiceOf, type PasswordResult, type RequestContext, type SignInDone, type Step } from './sign-in-flow.ts';
import { PER_ACCOUNT, PER_IP, type AlongRow, type ThrottleService } from './throttle.service.ts';

export interface PasswordStepDeps {
  db: Kysely<Database>;
  users: UserService;
  throttle: ThrottleService;
  policy: MfaPolicy;
  clock: Clock;
  ttlSeconds: number;
  done(user: User, amr: Amr[], epoch: number, stampMemberships?: boolean): Promise<SignInDone>;
}

/**
 * The sign-in form's result: a finished sign-in hands on its writes still in flight (`written`: its audit row, the
 * counters), which the caller awaits before it answers; `password_not_allowed`: the app's organization does not let
 * its users sign in with a password.
 */
export type PasswordFormResult = (PasswordResult & { written?: Promise<void> }) | { outcome: 'password_not_allowed' };

export function createPasswordStep(deps: PasswordStepDeps) {
  const { db, users, throttle, policy, clock, ttlSeconds, done } = deps;

  async function step(uid: string, email: string, password: string, meta: RequestMeta, asked: RequestContext | Promise<RequestContext>, allowed?: Promise<boolean> | boolean, clientHint?: string): Promise<PasswordFormResult> {
    // guess counters per address (known or not: a lock tells nothing) and per IP, counted before the check; a
    // browser that signed in to this account before counts against its own counter (password-throttle.ts)
    // the account's row is read beside the counters (a device's counter needs it first); a refused attempt drops it.
    // What the step needs once the password is right comes in the same statement (a read only; dropped when the
    // password is wrong): after the hash, the sign-in then waits for its writes alone. So does the app's rule.
    // `asked` (the app, from the interaction) may still be on its way: told the app by a hint (`clientHint`, from the
    // form), the account's read and the counters go out beside the interaction's read. Nothing is hashed, refused or
    // audited before it is in; a hint naming another app only costs the account's read again. (No rejection of
    // `asked` or of the read goes unheard when the step ends early.)
    Promise.resolve(asked).catch(() => undefined);
    const reading = clientHint !== undefined ? accountWithFacts(db, email, clientHint, uid) : Promise.resolve(asked).then((r) => accountWithFacts(db, email, r.clientId ?? null, uid));
    reading.catch(() => undefined);
    const known = meta.device ? (await reading).account?.row : undefined;
    const accountKey = passwordThrottleKey(email, known, meta.device);
    const ipKey = meta.ip ? `pwd-ip:${meta.ip}` : undefined;
    // both counters in one statement (and both settled in one below): the sign-in's hot path
    const counters = [{ key: accountKey, policy: PER_ACCOUNT }, ...(ipKey ? [{ key: ipKey, policy: PER_IP }] : [])];
    const counting = throttle.attemptEach(counters);
    counting.catch(() => undefined);
    let request: RequestContext;
    try {
      request = await asked;
    } catch (err) {
      // no live interaction (expired, or another browser's): the guess counted beside its read is given back, as if
      // it had never been sent (nothing was checked)
      const decisions = await counting.catch(() => []);
      await Promise.allSettled(counters.filter((_c, i) => decisions[i]?.allowed).map((c) => throttle.refund(c.key, c.policy)));
      throw err;
    }
    const [[perAccount = { allowed: false }, perIp = { allowed: true }], read, given] = await Promise.all([counting, reading, allowed]);
    const { restriction, account } = clientHint !== undefined && clientHint !== (request.clientId ?? null) ? await accountWithFacts(db, email, request.clientId ?? null, uid) : read;
    // a form forced past the app's rule (the caller's, or the one read with the account): refused before the hash
    // (the guess counted, as any password sent)
    if (!(given ?? allows(restriction, 'password'))) return { outcome: 'password_not_allowed' };
    if (!perAccount.allowed || !perIp.allowed) {
      await recordAudit(db, { event: 'login.throttled', clientId: request.clientId ?? null, ip: meta.ip, userAgent: meta.userAgent, data: { perAccount: perAccount.allowed, perIp: perIp.allowed } });
      return { outcome: 'throttled' };
    }
    const checked = await users.authenticate(email, password, { ...meta, clientId: request.clientId }, { row: account?.row ?? null, auditByCaller: true });
    // (a right password implies the account's row, and with it the facts, was read)
    if (!checked || !account) return { outcome: 'invalid' };
    const user: AuthenticatedUser = checked.user;
    // a right password settles the counters, its audit row (and the sign-in's next step, when there is one) in the same
    // statement; every outcome below waits for it before it returns (a finished sign-in hands it on to the caller: `written`)
    const audited: AlongRow[] = checked.audit ? [auditAlong(auditWithin(checked.audit))] : [];
    const settle = (along: AlongRow[]) => {
      const w = Promise.all([checked.written, ipKey ? throttle.successAndRefund(accountKey, { key: ipKey, policy: PER_IP }, along) : throttle.success(accountKey, along)]).then(() => undefined);
      w.catch(() => undefined);
      return w;
    };
    const { facts } = account;
    // an organization of the user that allows only upstream providers: the right password goes no further
    const refusing = firstRefusing(facts.memberships, 'password');
    if (refusing) {
      await Promise.all([settle(audited), recordAudit(db, { event: 'login.method_refused', targetUserId: user.id, clientId: request.clientId ?? null, ip: meta.ip, userAgent: meta.userAgent, data: { method: 'password', organization: refusing.organization } })]);
      return { outcome: 'method_refused', organization: refusing.organization, allowed: refusing.allowed };
    }
    const kinds = facts.kinds;
    // the policy's inputs came with the account's read (it writes only to fix a member's rollout deadline); should it
    // fail, the right password's writes still go out before the error does
    const decision = await policy.decide({ userId: user.id, ...request }, facts.policy).catch(async (err: unknown) => {
      await settle(audited).catch(() => undefined);
      throw err;
    });
    const allowedFactors = decision.required ? decision.factors : [...FACTOR_KINDS];
    const begin = async (state: Step, amr: Amr[]) => {
      await settle([...audited, beginAlong(clock, { uid, userId: user.id, state, amr, passwordAt: clock.now(), epoch: user.credentialEpoch, allowedFactors }, ttlSeconds)]);
      return { outcome: 'next', step: state, factors: choiceOf(kinds, allowedFactors), userId: user.id, credentialEpoch: user.credentialEpoch } as const;
    };
    // a user with a factor proves it first, even one the organization no longer counts (then adds one it does)
    if (kinds.length) return begin('second_factor', AMR_TOTP);
    // a member who must use 2FA but has none sets it up before anything is issued
    if (decision.required) return begin('enroll', AMR_TOTP);
    // during a rollout: a reminder with the deadline, and the choice to set it up now
    if (decision.graceUntil) return begin('grace', AMR_PASSWORD);
    const written = settle(audited);
    const finished = await done(user, AMR_PASSWORD, user.credentialEpoch, facts.memberships.length > 0);
    return { ...finished, userId: user.id, credentialEpoch: user.credentialEpoch, written, linkProposed: account.linkProposed };
  }

  return {
    /** email + password; every outcome's writes are in when it returns */
    async password(uid: string, email: string, password: string, meta: RequestMeta, request: RequestContext): Promise<PasswordResult> {
      const r = await step(uid, email, password, meta, request, true);
      if (r.outcome === 'password_not_allowed') throw new Error('unreachable: no app rule was given');
      const { written, ...result } = r;
      await written;
      return result;
    },

    /**
     * The sign-in form's POST: `allowed` is whether the app lets its users sign in with a password (no hash without
     * it); omitted, the step reads the app's rule itself, in the statement that reads the account. `request` may be a
     * promise (its interaction still being read), `clientHint` the app's id the form carried (checked against it). A
     * finished sign-in's writes are handed on (PasswordFormResult).
     */
    passwordForm: step,
  };
}
