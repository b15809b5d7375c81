// Tenants ("organizations" to people): members with roles, and the 2FA policy tenant admins control.
import { isUuid } from '../ids.ts';
import type { Kysely, Transaction } from 'kysely';
import type { Database, TenantRole } from '../../db/database.ts';
import { checkResetReason, resetTwoFactor } from '../mfa/two-factor-reset.ts';
import { FACTOR_KINDS, type FactorKind } from '../mfa/mfa-policy.ts';
import { listMembers, membersBeyondActor, type Member } from './member-list.ts';
import { recordAudit, type AuditEventName } from '../audit/audit.service.ts';
import { EXPORT_MAX, tenantAuditLog, type AuditFilter } from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import type { Outbox } from '../email/outbox.ts';
import { ConflictError, DomainError, NotFoundError, ValidationError, type MessageRef } from '../errors.ts';
import type { TwoFactorService } from '../mfa/two-factor.service.ts';
import { findUserRowByEmail } from '../users/user.repository.ts';
import type { RequestMeta, User } from '../users/user.service.ts';

export const ROLES: TenantRole[] = ['owner', 'admin', 'member'];

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  require2fa: boolean;
  enforceFrom: Date | null;
  allowedMethods: string[];
  /** the second factors that count while 2FA is required (every kind, or security keys only) */
  secondFactors: FactorKind[];
}

export type { Member, MemberTwoFactorState } from './member-list.ts';

export interface TenantClaim {
  id: string;
  slug: string;
  name: string;
  role: TenantRole;
  requires_2fa: boolean;
}

export class ForbiddenError extends DomainError {
  constructor(message = 'You are not allowed to do that in this organization.', ref: MessageRef = {}) {
    super('forbidden', message, 403, ref);
  }
}

const SLUG_RE = /^[a-z0-9][a-z0-9-]{1,62}$/;

type TenantRow = { id: string; slug: string; name: string; require_2fa: boolean; enforce_from: Date | null; allowed_methods: string[]; second_factors: string[] };
const toTenant = (r: TenantRow): Tenant => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  require2fa: r.require_2fa,
  enforceFrom: r.enforce_from,
  allowedMethods: r.allowed_methods,
  secondFactors: FACTOR_KINDS.filter((k) => r.second_factors.includes(k)),
});

export function createTenantService(deps: {
  db: Kysely<Database>;
  clock: Clock;
  outbox: Outbox;
  twoFactor: TwoFactorService;
  invite: (email: string, meta: RequestMeta & { tenantName?: string; invitedBy?: string | null }) => Promise<User>;
  inviteToTenant: (trx: Kysely<Database>, user: { id: string; email: string; name: string | null }, tenant: { id: string; name: string }) => Promise<void>;
  issuer: string;
}) {
  const { db, clock } = deps;

  async function audit(tenantId: string, event: AuditEventName, actorUserId: string | null, targetUserId: string | null, meta: RequestMeta, data: Record<string, unknown> = {}, trx: Kysely<Database> = db) {
    await recordAudit(trx, { event, tenantId, actorUserId, targetUserId, ip: meta.ip, userAgent: meta.userAgent, data: meta.actor ? { ...data, actor: meta.actor } : data });
  }

  async function bySlug(slug: string): Promise<Tenant> {
    const row = SLUG_RE.test(slug) ? await db.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst() : undefined;
    if (!row) throw new NotFoundError('tenant_not_found', 'There is no such organization.');
    return toTenant(row);
  }

  /** the role of an accepted member (a pending invitation gives no role) */
  async function roleOf(tenantId: string, userId: string): Promise<TenantRole | null> {
    if (!isUuid(userId)) return null;
    const row = await db.selectFrom('tenant_members').select('role').where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('accepted_at', 'is not', null).executeTakeFirst();
    return row?.role ?? null;
  }

  /**
   * Demoting or removing an owner needs another owner who has ACCEPTED (a pending invitation owns nothing). The tenant
   * row is locked first, so two owners demoting each other at once cannot both pass the check.
   */
  async function assertAnotherOwner(trx: Transaction<Database>, tenantId: string, userId: string): Promise<void> {
    await trx.selectFrom('tenants').select('id').where('id', '=', tenantId).forUpdate().execute();
    const other = await trx
      .selectFrom('tenant_members')
      .select('user_id')
      .where('tenant_id', '=', tenantId)
      .where('role', '=', 'owner')
      .where('accepted_at', 'is not', null)
      .where('user_id', '!=', userId)
      .executeTakeFirst();
    if (!other) throw new ConflictError('last_owner', 'An organization needs at least one owner who has accepted the invitation.');
  }

  async function memberRow(tenantId: string, userId: string) {
    if (!isUuid(userId)) return undefined;
    return db.selectFrom('tenant_members').selectAll().where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst();
  }


  /** the sign-in methods an organization may allow: email and password, and each upstream OpenID provider by name */
  async function signInMethodChoices(): Promise<{ value: string; label: string }[]> {
    const upstreams = await db.selectFrom('upstream_providers').select(['name', 'display_name']).orderBy('display_name').execute();
    return [{ value: 'password', label: 'Email and password' }, ...upstreams.map((u) => ({ value: u.name, label: u.display_name }))];
  }
  /**
   * Inviting someone whose invitation is still pending sends it again (with the role asked for now): a fresh link, the
   * earlier one stops working. Whoever would be asked to set a password the first time (no password yet, or an address
   * never verified) is asked again; an account with a verified address gets the join link, never "choose a password".
   */
  async function resendInvitation(tenant: Tenant, user: { id: string; email: string; name: string | null; password_hash: string | null; email_verified: boolean }, role: TenantRole, actorId: string | null, meta: RequestMeta) {
    const setsPassword = !user.password_hash || (!user.email_verified && actorId !== null);
    if (setsPassword) await deps.invite(user.email, { ...meta, tenantName: tenant.name, invitedBy: actorId });
    await db.transaction().execute(async (trx) => {
      const k = trx as unknown as Kysely<Database>;
      await trx.updateTable('tenant_members').set({ role }).where('tenant_id', '=', tenant.id).where('user_id', '=', user.id).where('accepted_at', 'is', null).execute();
      if (!setsPassword) await deps.inviteToTenant(k, { id: user.id, email: user.email, name: user.name }, tenant);
      await audit(tenant.id, 'tenant.member_added', actorId, user.id, meta, { role, invited: true, pending: true, resent: true }, k);
    });
    return { userId: user.id, invited: true, pending: true, resent: true };
  }

  return {
    bySlug,
    roleOf,

    async create(input: { slug: string; name: string }, meta: RequestMeta = {}): Promise<Tenant> {
      const slug = input.slug.trim().toLowerCase();
      if (!SLUG_RE.test(slug)) throw new ValidationError('invalid_slug', 'A slug is 2–63 lowercase letters, digits or dashes.');
      if (!input.name?.trim()) throw new ValidationError('invalid_name', 'An organization needs a name.');
      const row = await db.insertInto('tenants').values({ slug, name: input.name.trim() }).onConflict((oc) => oc.column('slug').doNothing()).returningAll().executeTakeFirst();
      if (!row) throw new ConflictError('slug_taken', `The slug "${slug}" is taken.`);
      await audit(row.id, 'tenant.created', null, null, meta, { slug });
      return toTenant(row);
    },

    async listForUser(userId: string): Promise<TenantClaim[]> {
      if (!isUuid(userId)) return [];
      const rows = await db
        .selectFrom('tenant_members as m')
        .innerJoin('tenants as t', 't.id', 'm.tenant_id')
        .select(['t.id', 't.slug', 't.name', 'm.role', 't.require_2fa'])
        .where('m.user_id', '=', userId)
        .where('m.accepted_at', 'is not', null)
        .orderBy('t.slug')
        .execute();
      return rows.map((r) => ({ id: r.id, slug: r.slug, name: r.name, role: r.role, requires_2fa: r.require_2fa }));
    },

    signInMethodChoices,

    /** the 2FA requirement (with an optional start date: the grace period) and the allowed sign-in methods */
    async updatePolicy(tenant: Tenant, input: { require2fa?: boolean; enforceFrom?: Date | null; allowedMethods?: string[]; secondFactors?: string[] }, actorId: string | null, meta: RequestMeta = {}): Promise<Tenant> {
      const methods = input.allowedMethods ?? tenant.allowedMethods;
      const factors = input.secondFactors ?? tenant.secondFactors;
      if (!factors.length || factors.some((f) => !(FACTOR_KINDS as readonly string[]).includes(f)) || !factors.includes('webauthn')) {
        throw new ValidationError('invalid_second_factors', 'Allowed second factors: every kind, or security keys and passkeys only.');
      }
      const known = (await signInMethodChoices()).map((m) => m.value);
      if (!methods.length || methods.some((m) => !known.includes(m))) {
        throw new ValidationError('invalid_methods', `Allowed sign-in methods: ${known.join(', ')} (at least one).`, { vars: { methods: known.join(', ') } });
      }
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('tenants')
          .set({ require_2fa: input.require2fa ?? tenant.require2fa, enforce_from: input.enforceFrom === undefined ? tenant.enforceFrom : input.enforceFrom, allowed_methods: methods, second_factors: FACTOR_KINDS.filter((k) => factors.includes(k)) })
          .where('id', '=', tenant.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        // A member's deadline, once fixed (shown to them), never moves later: a later date applies to members who have
        // not seen one yet. An earlier date (or "now") pulls later deadlines in. Turning the rule off clears them all.
        const members = trx.updateTable('tenant_members').where('tenant_id', '=', tenant.id);
        // "now" (no date) is the earliest date of all: every personal deadline goes
        if (!row.require_2fa || input.enforceFrom === null) await members.set({ mfa_deadline: null }).execute();
        else if (input.enforceFrom) await members.set({ mfa_deadline: input.enforceFrom }).where('mfa_deadline', '>', input.enforceFrom).execute();
        await audit(tenant.id, 'tenant.policy_changed', actorId, null, meta, { require2fa: row.require_2fa, enforceFrom: row.enforce_from, allowedMethods: row.allowed_methods, secondFactors: row.second_factors }, trx as unknown as Kysely<Database>);
        return toTenant(row);
      });
    },

    /**
     * Adds a member. A person with an account must accept first (an emailed link) when an organization admin adds
     * them: until then the organization has no power over them (no 2FA reset, no policy, no claim). Someone without
     * an account gets an invitation to create one, which is the acceptance. The operator (CLI, actorId null) adds
     * existing users directly.
     */
    async addMember(tenant: Tenant, email: string, role: TenantRole, actorId: string | null, meta: RequestMeta = {}): Promise<{ userId: string; invited: boolean; pending: boolean; resent?: boolean }> {
      if (!ROLES.includes(role)) throw new ValidationError('invalid_role', `Role must be one of ${ROLES.join(', ')}.`, { vars: { roles: ROLES.join(', ') } });
      let row = await findUserRowByEmail(db, email);
      const already = row ? await memberRow(tenant.id, row.id) : undefined;
      if (already?.accepted_at) throw new ConflictError('already_member', 'That person is already a member.');
      if (row && already) return resendInvitation(tenant, row, role, actorId, meta);
      let invited = false;
      // an account whose address was never verified may not be its owner's: when an admin adds it, it goes the
      // invitation way, whose acceptance (from the mailbox) resets it. The operator (CLI) vouches for accounts directly.
      if (!row || !row.password_hash || (!row.email_verified && actorId !== null)) {
        await deps.invite(email, { ...meta, tenantName: tenant.name, invitedBy: actorId });
        row = await findUserRowByEmail(db, email);
        invited = true;
      }
      const user = row!;
      const pending = invited || actorId !== null;
      return db.transaction().execute(async (trx) => {
        const added = await trx
          .insertInto('tenant_members')
          .values({ tenant_id: tenant.id, user_id: user.id, role, accepted_at: pending ? null : new Date() })
          .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doNothing())
          .executeTakeFirst();
        if (Number(added.numInsertedOrUpdatedRows ?? 0) === 0) throw new ConflictError('already_member', 'That person is already a member.');
        if (pending && !invited) await deps.inviteToTenant(trx as unknown as Kysely<Database>, { id: user.id, email: user.email, name: user.name }, tenant);
        // `invited`: an invitation was mailed. An admin's addition always mails one (to create an account, or to join),
        // so the answer (and the audit row admins can read) never tells whether the address already had an account
        await audit(tenant.id, 'tenant.member_added', actorId, user.id, meta, { role, invited: pending, pending }, trx as unknown as Kysely<Database>);
        return { userId: user.id, invited: pending, pending };
      });
    },

    async setRole(tenant: Tenant, userId: string, role: TenantRole, actorId: string | null, meta: RequestMeta = {}): Promise<void> {
      if (!ROLES.includes(role)) throw new ValidationError('invalid_role', `Role must be one of ${ROLES.join(', ')}.`, { vars: { roles: ROLES.join(', ') } });
      const m = await memberRow(tenant.id, userId);
      if (!m) throw new NotFoundError('member_not_found', 'No such member.');
      await db.transaction().execute(async (trx) => {
        if (m.role === 'owner' && role !== 'owner' && m.accepted_at) await assertAnotherOwner(trx, tenant.id, userId);
        await trx.updateTable('tenant_members').set({ role }).where('tenant_id', '=', tenant.id).where('user_id', '=', userId).execute();
        await audit(tenant.id, 'tenant.role_changed', actorId, userId, meta, { from: m.role, to: role }, trx as unknown as Kysely<Database>);
      });
    },

    async removeMember(tenant: Tenant, userId: string, actorId: string | null, meta: RequestMeta = {}): Promise<void> {
      const m = await memberRow(tenant.id, userId);
      if (!m) throw new NotFoundError('member_not_found', 'No such member.');
      await db.transaction().execute(async (trx) => {
        if (m.role === 'owner' && m.accepted_at) await assertAnotherOwner(trx, tenant.id, userId);
        await trx.deleteFrom('tenant_members').where('tenant_id', '=', tenant.id).where('user_id', '=', userId).execute();
        await audit(tenant.id, 'tenant.member_removed', actorId, userId, meta, {}, trx as unknown as Kysely<Database>);
      });
    },

    /** members with their 2FA state, for the admin list; coverage = how many have a factor the organization accepts */
    async members(tenant: Tenant) {
      return listMembers(db, clock, tenant);
    },

    /** members (with a second factor) who also belong to an organization this actor does not administer */
    async resetNeedsOthers(tenant: Tenant, actorId: string, userIds: string[]): Promise<Set<string>> {
      return membersBeyondActor(db, tenant.id, actorId, userIds);
    },

    /** who would have to set up 2FA at their next sign-in if the requirement were on (with these second factors) */
    async wouldBeBlocked(tenant: Tenant, secondFactors: FactorKind[] = tenant.secondFactors): Promise<Member[]> {
      return (await listMembers(db, clock, { ...tenant, require2fa: true, enforceFrom: null, secondFactors })).members.filter((m) => !m.twoFactor && !m.invitationPending);
    },

    /**
     * Lost phone, handled by an admin: the admin proves their own second factor and gives a reason; the member's
     * factors and recovery codes go, their sessions and tokens are revoked, they are mailed, and if the tenant
     * requires 2FA they must enroll at their next sign-in. Admins never see or set a member's password.
     */
    async resetMemberTwoFactor(tenant: Tenant, admin: User, memberId: string, adminCode: string, reason: string, meta: RequestMeta = {}): Promise<void> {
      checkResetReason(reason);
      const member = await memberRow(tenant.id, memberId);
      if (!member) throw new NotFoundError('member_not_found', 'No such member.');
      if (!member.accepted_at) throw new ConflictError('invitation_pending', 'This person has not accepted the invitation yet.');
      const proof = /^\s*\d{3}\s?\d{3}\s*$/.test(adminCode) ? await deps.twoFactor.checkTotp(admin, adminCode, meta) : await deps.twoFactor.useRecoveryCode(admin, adminCode, meta);
      if (proof !== 'ok') throw new DomainError('second_factor_invalid', 'Confirm with a current code from your own authenticator.', 403, { key: 'second_factor_invalid_own' });
      const target = await db.selectFrom('users').select(['id', 'email', 'name']).where('id', '=', memberId).executeTakeFirstOrThrow();
      await db.transaction().execute(async (trx) => {
        await resetTwoFactor(trx, { outbox: deps.outbox, clock, issuer: deps.issuer }, {
          user: target,
          reason,
          event: 'tenant.member_2fa_reset',
          actorUserId: admin.id,
          tenantId: tenant.id,
          notice: { kind: tenant.require2fa ? 'tenant_2fa_reset_required' : 'tenant_2fa_reset', vars: { org: tenant.name } },
          message: `An administrator of ${tenant.name} reset your two-factor authentication and signed you out everywhere.${tenant.require2fa ? ' You will set it up again at your next sign-in.' : ''}`,
          meta,
        });
      });
    },

    async auditLog(tenant: Tenant, filter: AuditFilter = {}) {
      return tenantAuditLog(db, tenant.id, filter, EXPORT_MAX);
    },

    async clientTenant(clientId: string): Promise<string | null> {
      const row = await db.selectFrom('oidc_clients').select('tenant_id').where('client_id', '=', clientId).executeTakeFirst();
      return row?.tenant_id ?? null;
    },

    async assignClient(tenant: Tenant, clientId: string): Promise<void> {
      await db.updateTable('oidc_clients').set({ tenant_id: tenant.id }).where('client_id', '=', clientId).execute();
    },
  };
}


export type TenantService = ReturnType<typeof createTenantService>;
