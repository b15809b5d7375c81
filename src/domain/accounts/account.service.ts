// Everything a person does with their own account besides 2FA: sign-up, invitations, email verification,
// password reset and change, profile, sessions. Mail goes through the outbox in the same transaction.
import { sql, type Kysely } from 'kysely';
import type { Database, Db, EmailTokenPurpose } from '../../db/database.ts';
import { recordAudit, type AuditEventName } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { Outbox } from '../email/outbox.ts';
import { ConflictError, DomainError, ValidationError } from '../errors.ts';
import type { PasswordHasher } from '../users/password-hasher.ts';
import { checkPassword } from '../users/password-policy.ts';
import { findUserRowByEmail, findUserRowById, normalizeEmail } from '../users/user.repository.ts';
import type { RequestMeta, User, UserService } from '../users/user.service.ts';
import { consumeEmailToken, issueEmailToken, linkState, peekEmailToken, TOKEN_TTL_SECONDS, type LinkState } from './email-token.ts';
import { sqlNow } from '../clock.ts';
import { appNames, listGrants, listSessions, revokeApp, revokeOtherSessions, revokeSession, sessionOrigins } from './session-list.ts';
import { bumpCredentialEpoch } from './credential-epoch.ts';
import { removeAllFactors } from '../mfa/factors.ts';

export class LinkInvalidError extends DomainError {
  constructor() {
    super('link_invalid', 'This link has expired or was already used. Ask for a new one.', 400);
  }
}

const PATHS: Record<EmailTokenPurpose, string> = {
  verify_email: '/verify-email',
  reset_password: '/reset-password',
  invite: '/invite',
  change_email: '/verify-email-change',
  join_tenant: '/join',
};

export function createAccountService(deps: { db: Kysely<Database>; users: UserService; hasher: PasswordHasher; outbox: Outbox; clock: Clock; issuer: string; signupEnabled: boolean }) {
  const { db, users, hasher, outbox } = deps;
  const hours = (p: EmailTokenPurpose) => Math.round(TOKEN_TTL_SECONDS[p] / 3600);

  async function audit(trx: Db, event: AuditEventName, userId: string | null, meta: RequestMeta, data: Record<string, unknown> = {}) {
    await recordAudit(trx, { event, actorUserId: userId, targetUserId: userId, ip: meta.ip, userAgent: meta.userAgent, data });
  }

  async function mailLink(trx: Db, to: string, name: string | null, purpose: EmailTokenPurpose, token: string, text: { subject: string; intro: string; action: string; textKey?: string; org?: string }) {
    await outbox.enqueue(trx, to, 'link', {
      ...text,
      name,
      link: `${deps.issuer}${PATHS[purpose]}?token=${token}`,
      // the templates write these in the recipient's language (email.link.<purpose>); the texts above are the English fallback
      purpose,
      hours: hours(purpose),
      translated: true,
      outro: `The link works once and expires in ${hours(purpose) >= 48 ? `${hours(purpose) / 24} days` : `${hours(purpose)} hour${hours(purpose) === 1 ? '' : 's'}`}. If you did not ask for this, ignore this message.`,
    });
  }

  /** a security notice; `kind` names its words in the catalogue (email.notice.<kind>), `vars` their values; title and message are the English fallback */
  async function notice(trx: Db, user: { email: string; name: string | null }, kind: string, title: string, message: string, meta: RequestMeta, vars: Record<string, string> = {}) {
    await outbox.enqueue(trx, user.email, 'security-notice', { kind, vars, title, message, name: user.name, email: user.email, at: deps.clock.now().toISOString(), ip: meta.ip, issuer: deps.issuer });
  }

  async function setPassword(trx: Db, userId: string, password: string, extra: { email_verified?: boolean } = {}) {
    const hash = await hasher.hash(password);
    await trx.updateTable('users').set({ password_hash: hash, password_changed_at: sql`now()`, updated_at: sql`now()`, ...extra }).where('id', '=', userId).execute();
  }

  return {
    signupEnabled: deps.signupEnabled,

    /**
     * Self-service sign-up. The answer is the same whether or not the address has an account: a new address gets a
     * verification link, an existing one gets a note that someone tried to sign up with it.
     */
    async signUp(input: { email: string; name: string; password: string }, meta: RequestMeta): Promise<void> {
      if (!deps.signupEnabled) throw new DomainError('signup_disabled', 'Sign-up is turned off. Ask your administrator for an invitation.', 403);
      const email = input.email.trim();
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 320) throw new ValidationError('invalid_email', 'Enter a valid email address.');
      checkPassword(input.password, { email, name: input.name });
      const existing = await findUserRowByEmail(db, email);
      if (existing) {
        await hasher.hash(input.password); // same cost as the new-account path
        await db.transaction().execute(async (trx) => {
          await outbox.enqueue(trx, existing.email, 'link', {
            subject: 'Someone tried to create a Gatehouse account with your address',
            name: existing.name,
            intro: 'Someone (maybe you) tried to create an account with this email address, which already has one. If you forgot your password, reset it here:',
            action: 'Reset your password',
            link: `${deps.issuer}/forgot-password`,
            outro: 'If it was not you, you can ignore this message.',
            // the recipient's language: email.link.signup_attempt
            translated: true,
            textKey: 'signup_attempt',
          });
        });
        return;
      }
      try {
        const user = await users.create({ email, name: input.name, password: input.password });
        await db.transaction().execute(async (trx) => {
          const token = await issueEmailToken(trx, deps.clock, user.id, 'verify_email');
          await mailLink(trx, user.email, user.name, 'verify_email', token, { subject: 'Confirm your email address', intro: 'Welcome to Gatehouse. Confirm your email address to finish creating your account:', action: 'Confirm your email' });
          await audit(trx, 'user.signed_up', user.id, meta);
        });
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err; // a concurrent sign-up with the same address: same answer
      }
    },

    /**
     * A new verification link for an account whose address is not verified yet, from the account page or from an
     * expired link's page (whose token names the account). Throttled per account: one a minute, five an hour,
     * checked under a lock on the user row so that two clicks at once send one mail.
     */
    async resendVerification(who: { userId: string } | { expiredToken: string }, meta: RequestMeta): Promise<'sent' | 'already_verified' | 'throttled' | 'unknown'> {
      const userId = 'userId' in who ? who.userId : (await linkState(db, deps.clock, who.expiredToken, 'verify_email')).userId;
      if (!userId) return 'unknown';
      return db.transaction().execute(async (trx) => {
        const user = await trx.selectFrom('users').select(['id', 'email', 'name', 'email_verified', 'disabled_at']).where('id', '=', userId).forUpdate().executeTakeFirst();
        if (!user || user.disabled_at) return 'unknown';
        if (user.email_verified) return 'already_verified';
        const recent = await trx
          .selectFrom('email_tokens')
          .select((eb) => [eb.fn.countAll<string>().as('hour'), eb.fn.sum<string>(sql<number>`CASE WHEN ${eb.ref('created_at')} > ${sqlNow(deps.clock)} - interval '1 minute' THEN 1 ELSE 0 END`).as('minute')])
          .where('user_id', '=', user.id)
          .where('purpose', '=', 'verify_email')
          .where('created_at', '>', sql<Date>`${sqlNow(deps.clock)} - interval '1 hour'`)
          .executeTakeFirstOrThrow();
        if (Number(recent.hour) >= 5 || Number(recent.minute ?? 0) >= 1) return 'throttled';
        const token = await issueEmailToken(trx, deps.clock, user.id, 'verify_email');
        await mailLink(trx, user.email, user.name, 'verify_email', token, { subject: 'Confirm your email address', intro: 'Here is a new link to confirm the email address of your Gatehouse account:', action: 'Confirm your email' });
        return 'sent';
      });
    },

    /** why a link no longer works, and whether its account's address is verified (the page then offers the next step) */
    async linkHelp(token: string, purpose: EmailTokenPurpose): Promise<{ state: LinkState; emailVerified: boolean | null }> {
      const { state, userId } = await linkState(db, deps.clock, token, purpose);
      const row = userId ? await findUserRowById(db, userId) : undefined;
      return { state, emailVerified: row ? row.email_verified : null };
    },

    async verifyEmail(token: string, meta: RequestMeta): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const t = await consumeEmailToken(trx, deps.clock, token, 'verify_email');
        if (!t) throw new LinkInvalidError();
        await trx.updateTable('users').set({ email_verified: true, updated_at: sql`now()` }).where('id', '=', t.userId).execute();
        await audit(trx, 'email.verified', t.userId, meta);
      });
    },

    /** an invitation: the user exists without a password until they accept */
    async invite(email: string, meta: RequestMeta & { invitedBy?: string | null; tenantName?: string }): Promise<User> {
      const existing = await findUserRowByEmail(db, email);
      // accepting an invitation resets the account: never offer that for an account its owner has verified
      if (existing?.password_hash && existing.email_verified) throw new ConflictError('already_registered', 'That address already has an account.');
      const user = existing ? { id: existing.id, email: existing.email, name: existing.name, emailVerified: existing.email_verified } : await users.create({ email });
      await db.transaction().execute(async (trx) => {
        const token = await issueEmailToken(trx, deps.clock, user.id, 'invite');
        await mailLink(trx, user.email, user.name, 'invite', token, {
          subject: meta.tenantName ? `You are invited to ${meta.tenantName} on Gatehouse` : 'You are invited to Gatehouse',
          intro: meta.tenantName ? `You have been invited to join ${meta.tenantName}. Set your password to accept:` : 'You have been invited to Gatehouse. Set your password to accept:',
          action: 'Accept the invitation',
          textKey: meta.tenantName ? 'invite_org' : 'invite',
          org: meta.tenantName,
        });
        await audit(trx, 'user.invited', user.id, meta, { invitedBy: meta.invitedBy ?? null });
      });
      return user;
    },

    /** an existing user invited to an organization: a link to accept (nothing is granted until then) */
    async inviteToTenant(trx: Db, user: { id: string; email: string; name: string | null }, tenant: { id: string; name: string }): Promise<void> {
      const token = await issueEmailToken(trx, deps.clock, user.id, 'join_tenant', undefined, tenant.id);
      await mailLink(trx, user.email, user.name, 'join_tenant', token, {
        subject: `Join ${tenant.name} on Gatehouse`,
        intro: `You have been invited to join ${tenant.name}. Its administrators will see your name, email, sign-ins and two-factor status, and its rules (such as requiring two-factor authentication) will apply to you. Accept here:`,
        action: `Join ${tenant.name}`,
        org: tenant.name,
      });
    },

    async joinTenant(token: string, meta: RequestMeta): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const t = await consumeEmailToken(trx, deps.clock, token, 'join_tenant');
        if (!t?.tenantId) throw new LinkInvalidError();
        const res = await trx.updateTable('tenant_members').set({ accepted_at: sql`now()` }).where('tenant_id', '=', t.tenantId).where('user_id', '=', t.userId).where('accepted_at', 'is', null).executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) throw new LinkInvalidError();
        await recordAudit(trx, { event: 'tenant.member_joined', tenantId: t.tenantId, actorUserId: t.userId, targetUserId: t.userId, ip: meta.ip, userAgent: meta.userAgent });
      });
    },

    async linkValid(token: string, purpose: EmailTokenPurpose): Promise<boolean> {
      return (await peekEmailToken(db, deps.clock, token, purpose)) !== null;
    },

    async acceptInvite(token: string, password: string, name: string | undefined, meta: RequestMeta): Promise<void> {
      const peek = await peekEmailToken(db, deps.clock, token, 'invite');
      if (!peek) throw new LinkInvalidError();
      const row = await findUserRowById(db, peek.userId);
      checkPassword(password, { email: row?.email, name: name ?? row?.name });
      await db.transaction().execute(async (trx) => {
        const t = await consumeEmailToken(trx, deps.clock, token, 'invite');
        if (!t) throw new LinkInvalidError();
        await setPassword(trx, t.userId, password, { email_verified: true });
        // whoever had this account before the mailbox owner accepted (an unverified sign-up) loses everything bound to it
        await removeAllFactors(trx, t.userId);
        await bumpCredentialEpoch(trx, t.userId);
        if (name?.trim()) await trx.updateTable('users').set({ name: name.trim().slice(0, 200) }).where('id', '=', t.userId).execute();
        // setting the password from the invitation is the acceptance of the organizations that invited them
        await trx.updateTable('tenant_members').set({ accepted_at: sql`now()` }).where('user_id', '=', t.userId).where('accepted_at', 'is', null).execute();
        await audit(trx, 'invitation.accepted', t.userId, meta);
      });
    },

    /** the same answer whether or not the address has an account */
    async requestPasswordReset(email: string, meta: RequestMeta): Promise<void> {
      const row = await findUserRowByEmail(db, email);
      if (!row || row.disabled_at) return;
      await db.transaction().execute(async (trx) => {
        const token = await issueEmailToken(trx, deps.clock, row.id, 'reset_password');
        await mailLink(trx, row.email, row.name, 'reset_password', token, { subject: 'Reset your Gatehouse password', intro: 'Someone (we hope you) asked to reset the password of your Gatehouse account:', action: 'Choose a new password' });
        await audit(trx, 'password.reset_requested', row.id, meta);
      });
    },

    /**
     * Sets the new password, ends every session and revokes every token, and tells the user. It never signs the
     * user in: they sign in again, with their second factor if they have one.
     */
    async resetPassword(token: string, password: string, meta: RequestMeta): Promise<void> {
      const peek = await peekEmailToken(db, deps.clock, token, 'reset_password');
      if (!peek) throw new LinkInvalidError();
      const row = await findUserRowById(db, peek.userId);
      if (!row) throw new LinkInvalidError();
      checkPassword(password, { email: row.email, name: row.name });
      await db.transaction().execute(async (trx) => {
        const t = await consumeEmailToken(trx, deps.clock, token, 'reset_password');
        if (!t) throw new LinkInvalidError();
        // the link proved control of the mailbox
        await setPassword(trx, t.userId, password, { email_verified: true });
        if (!row.email_verified) {
          // factors bound to an account whose address was never proven may be someone else's: they go
          await removeAllFactors(trx, t.userId);
        }
        // every session, token, sign-in in progress and other email link (of any purpose) dies with the old password
        await bumpCredentialEpoch(trx, t.userId);
        await trx.deleteFrom('throttles').where('key', '=', `pwd:${normalizeEmail(row.email)}`).execute();
        await audit(trx, 'password.reset', t.userId, meta);
        await notice(trx, row, 'password_reset', 'password reset', 'The password of your account was reset, and you were signed out everywhere.', meta);
      });
    },

    async changePassword(user: User, current: string, next: string, meta: RequestMeta, keepSessionId?: string): Promise<void> {
      if (!(await users.verifyPassword(user.id, current, meta))) throw new DomainError('password_incorrect', 'Your current password is not right.', 403, { key: 'password_incorrect_current' });
      checkPassword(next, { email: user.email, name: user.name });
      await db.transaction().execute(async (trx) => {
        await setPassword(trx, user.id, next);
        await bumpCredentialEpoch(trx, user.id, { sessionId: keepSessionId });
        await audit(trx, 'password.changed', user.id, meta);
        await notice(trx, user, 'password_changed', 'password changed', 'The password of your account was changed. Your other sessions were signed out.', meta);
      });
    },

    async changeName(user: User, name: string, meta: RequestMeta): Promise<void> {
      const clean = name.trim().slice(0, 200);
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ name: clean || null, updated_at: sql`now()` }).where('id', '=', user.id).execute();
        await audit(trx, 'profile.changed', user.id, meta);
      });
    },

    /** a link to the new address; the change happens when it is followed. Needs the password. */
    async requestEmailChange(user: User, password: string, newEmail: string, meta: RequestMeta): Promise<void> {
      // an address never proven may be someone else's: its holder cannot move the account to an address of theirs
      if (!user.emailVerified) throw new DomainError('email_unverified', 'Confirm your current email address first (follow the link we sent you, or reset your password).', 403);
      if (!(await users.verifyPassword(user.id, password, meta))) throw new DomainError('password_incorrect', 'Your current password is not right.', 403, { key: 'password_incorrect_current' });
      const email = newEmail.trim();
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 320) throw new ValidationError('invalid_email', 'Enter a valid email address.');
      await db.transaction().execute(async (trx) => {
        const token = await issueEmailToken(trx, deps.clock, user.id, 'change_email', email);
        await mailLink(trx, email, user.name, 'change_email', token, { subject: 'Confirm your new email address', intro: 'Confirm that this is the new email address of your Gatehouse account:', action: 'Confirm the new address' });
        await notice(trx, user, 'email_change_requested', 'email change requested', `Someone asked to change the email address of your account to ${email}. It changes only if the link sent there is followed.`, meta, { email });
        await audit(trx, 'email.change_requested', user.id, meta, { newEmail: email });
      });
    },

    async confirmEmailChange(token: string, meta: RequestMeta): Promise<void> {
      await db.transaction().execute(async (trx) => {
        const t = await consumeEmailToken(trx, deps.clock, token, 'change_email');
        if (!t?.newEmail) throw new LinkInvalidError();
        const taken = await trx.selectFrom('users').select('id').where('email_normalized', '=', normalizeEmail(t.newEmail)).executeTakeFirst();
        if (taken) throw new ConflictError('email_taken', 'That address now belongs to another account.', { key: 'email_taken_now' });
        const old = await trx.selectFrom('users').select(['email', 'name']).where('id', '=', t.userId).forUpdate().executeTakeFirstOrThrow();
        await trx.updateTable('users').set({ email: t.newEmail, email_normalized: normalizeEmail(t.newEmail), email_verified: true, updated_at: sql`now()` }).where('id', '=', t.userId).execute();
        // every other link (a reset sent to the old address, another change) and every session dies with the old address
        await bumpCredentialEpoch(trx, t.userId);
        await audit(trx, 'email.changed', t.userId, meta, { newEmail: t.newEmail });
        await notice(trx, old, 'email_changed', 'email address changed', `The email address of your account was changed to ${t.newEmail}, and you were signed out everywhere. If this was not you, contact your administrator.`, meta, { email: t.newEmail });
      });
    },

    sessions: (userId: string) => listSessions(db, deps.clock, userId),
    grants: (userId: string) => listGrants(db, deps.clock, userId),

    async revokeSession(user: User, sessionId: string, meta: RequestMeta): Promise<void> {
      await db.transaction().execute(async (trx) => {
        if (await revokeSession(trx, user.id, sessionId)) await audit(trx, 'session.revoked', user.id, meta, { sessionId });
      });
    },

    /** "Sign out everywhere else": every session but this browser's ends (their tokens follow the session rules) */
    async signOutEverywhereElse(user: User, currentSessionId: string, meta: RequestMeta): Promise<number> {
      return db.transaction().execute(async (trx) => {
        const n = await revokeOtherSessions(trx, user.id, currentSessionId);
        if (n) await audit(trx, 'session.revoked', user.id, meta, { others: n });
        return n;
      });
    },

    /** client id → app name, for the apps the sessions list names */
    appNames: (clientIds: string[]) => appNames(db, clientIds),
    sessionOrigins: (userId: string, loginTimes: number[]) => sessionOrigins(db, userId, loginTimes),

    async revokeApp(user: User, clientId: string, meta: RequestMeta): Promise<void> {
      await db.transaction().execute(async (trx) => {
        if (await revokeApp(trx, user.id, clientId)) await audit(trx, 'grant.revoked', user.id, meta, { clientId });
      });
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
