// The profile: a person's name, and moving the account to another email address (confirmed by a link sent there).
import { sql } from 'kysely';
import { ConflictError, DomainError, ValidationError } from '../errors.ts';
import { isEmailAddress } from '../users/email-address.ts';
import { normalizeEmail } from '../users/user.repository.ts';
import type { RequestMeta, User } from '../users/user.service.ts';
import { LinkInvalidError, type AccountDeps, type AccountHelpers } from './account-common.ts';
import { bumpCredentialEpoch } from './credential-epoch.ts';
import { consumeEmailToken, issueEmailToken } from './email-token.ts';

export function profileFlows(deps: AccountDeps, h: AccountHelpers) {
  const { db, users } = deps;
  const { audit, mailLink, notice } = h;
  return {
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
      if (!isEmailAddress(email)) throw new ValidationError('invalid_email', 'Enter a valid email address.');
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
  };
}
