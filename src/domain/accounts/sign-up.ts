// Self-service sign-up and the verification of an account's email address.
import { sql } from 'kysely';
import type { EmailTokenPurpose } from '../../db/database.ts';
import { sqlNow } from '../clock.ts';
import { ConflictError, DomainError, ValidationError } from '../errors.ts';
import { isEmailAddress } from '../users/email-address.ts';
import { checkPassword } from '../users/password-policy.ts';
import { findUserRowByEmail, findUserRowById } from '../users/user.repository.ts';
import type { RequestMeta } from '../users/user.service.ts';
import { LinkInvalidError, type AccountDeps, type AccountHelpers } from './account-common.ts';
import { consumeEmailToken, issueEmailToken, linkState, type LinkState } from './email-token.ts';

export function signUpFlows(deps: AccountDeps, h: AccountHelpers) {
  const { db, users, hasher, outbox } = deps;
  const { audit, mailLink } = h;
  return {
    /**
     * Self-service sign-up. The answer is the same whether or not the address has an account: a new address gets a
     * verification link, an existing one gets a note that someone tried to sign up with it.
     */
    async signUp(input: { email: string; name: string; password: string }, meta: RequestMeta): Promise<void> {
      if (!deps.signupEnabled) throw new DomainError('signup_disabled', 'Sign-up is turned off. Ask your administrator for an invitation.', 403);
      const email = input.email.trim();
      if (!isEmailAddress(email)) throw new ValidationError('invalid_email', 'Enter a valid email address.');
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
  };
}
