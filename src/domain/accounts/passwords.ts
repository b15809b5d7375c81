// A forgotten password (reset by an emailed link) and a password change from the account page.
import { DomainError } from '../errors.ts';
import { removeAllFactors } from '../mfa/factors.ts';
import { checkPassword } from '../users/password-policy.ts';
import { findUserRowByEmail, findUserRowById, normalizeEmail } from '../users/user.repository.ts';
import type { RequestMeta, User } from '../users/user.service.ts';
import { LinkInvalidError, type AccountDeps, type AccountHelpers } from './account-common.ts';
import { bumpCredentialEpoch } from './credential-epoch.ts';
import { consumeEmailToken, issueEmailToken, peekEmailToken } from './email-token.ts';

export function passwordFlows(deps: AccountDeps, h: AccountHelpers) {
  const { db, users } = deps;
  const { audit, mailLink, notice, setPassword } = h;
  return {
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
  };
}
