// Invitations: to Gatehouse (the person chooses a password) and to an organization (an existing user accepts).
import { sql } from 'kysely';
import type { Db, EmailTokenPurpose } from '../../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { ConflictError } from '../errors.ts';
import { removeAllFactors } from '../mfa/factors.ts';
import { checkPassword } from '../users/password-policy.ts';
import { findUserRowByEmail, findUserRowById } from '../users/user.repository.ts';
import type { RequestMeta, User } from '../users/user.service.ts';
import { LinkInvalidError, type AccountDeps, type AccountHelpers } from './account-common.ts';
import { bumpCredentialEpoch } from './credential-epoch.ts';
import { consumeEmailToken, issueEmailToken, peekEmailToken } from './email-token.ts';

export function invitationFlows(deps: AccountDeps, h: AccountHelpers) {
  const { db, users } = deps;
  const { audit, mailLink, setPassword } = h;
  return {
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
  };
}
