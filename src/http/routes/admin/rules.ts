// What an organization's owners and admins may do, shared by the admin console and the admin API. The tenant
// service scopes every query by tenant id; these rules add who may do what to whom.
import type { TenantRole } from '../../../db/database.ts';
import { DomainError, NotFoundError } from '../../../domain/errors.ts';
import { ForbiddenError, type Member, type Tenant, type TenantService } from '../../../domain/tenants/tenant.service.ts';

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{1,62}$';

export const isAdminRole = (role: TenantRole | null | undefined): role is 'owner' | 'admin' => role === 'owner' || role === 'admin';

/** one answer for "no such organization" and "not yours to administer": nothing is revealed about other tenants */
export const tenantNotFound = () => new NotFoundError('tenant_not_found', 'There is no such organization.');
export const memberNotFound = () => new NotFoundError('member_not_found', 'No such member.');

/** the tenant behind a slug, if this user is its owner or admin; otherwise the same 404 as an unknown slug */
export async function administeredTenant(tenants: TenantService, slug: string, userId: string): Promise<{ tenant: Tenant; role: 'owner' | 'admin' }> {
  const tenant = await tenants.bySlug(slug).catch((err) => {
    if (err instanceof NotFoundError) throw tenantNotFound();
    throw err;
  });
  const role = await tenants.roleOf(tenant.id, userId);
  if (!isAdminRole(role)) throw tenantNotFound();
  return { tenant, role };
}

/** a member of THIS tenant (ids of other tenants' members are simply not found) */
export async function memberOf(tenants: TenantService, tenant: Tenant, userId: string): Promise<Member> {
  const member = (await tenants.members(tenant)).members.find((m) => m.userId === userId);
  if (!member) throw memberNotFound();
  return member;
}

/** roles an actor may hand out: only owners make owners */
export function grantableRoles(actorRole: TenantRole): TenantRole[] {
  return actorRole === 'owner' ? ['owner', 'admin', 'member'] : ['admin', 'member'];
}

export function assertMayInvite(actorRole: TenantRole, role: TenantRole): void {
  if (role === 'owner' && actorRole !== 'owner') throw new ForbiddenError('Only owners can make someone an owner.', { key: 'owner_only_make' });
}

export function assertMayChangeRole(actorRole: TenantRole, member: Member, role: TenantRole): void {
  if ((member.role === 'owner' || role === 'owner') && actorRole !== 'owner') throw new ForbiddenError('Only owners can grant or remove the owner role.', { key: 'owner_only_role' });
}

export function assertMayRemove(actorRole: TenantRole, member: Member): void {
  if (member.role === 'owner' && actorRole !== 'owner') throw new ForbiddenError('Only owners can remove an owner.', { key: 'owner_only_remove' });
}

/** what to do when a reset needs more than this organization (the other organization is not named: not ours to tell) */
export const RESET_NEEDS_OTHERS =
  'This person also belongs to another organization that you do not administer. A reset affects their whole account, so it takes someone who administers every organization they belong to, or your Gatehouse operator. Until then they can sign in with one of their recovery codes, if they still have one.';

/**
 * Resetting a member's 2FA weakens their whole Gatehouse account, not just their membership: so never one's own
 * (that is the account page, with one's own factors), an owner's only by an owner, and not a person who also
 * belongs to an organization the actor does not administer (that organization's admins must do it).
 */
export async function assertMayReset(tenants: TenantService, tenant: Tenant, actor: { id: string; role: TenantRole }, member: Member): Promise<void> {
  if (member.userId === actor.id) throw new DomainError('own_account', 'Manage your own two-factor authentication from your account page.', 403);
  if (member.role === 'owner' && actor.role !== 'owner') throw new ForbiddenError("Only owners can reset an owner's two-factor authentication.", { key: 'owner_only_reset' });
  for (const other of await tenants.listForUser(member.userId)) {
    if (other.id === tenant.id) continue;
    if (!isAdminRole(await tenants.roleOf(other.id, actor.id))) {
      throw new ForbiddenError(RESET_NEEDS_OTHERS, { key: 'reset_needs_others' });
    }
  }
}

/** how a sign-in was made, as a stable code (the JSON API's `lastSignInMethod`; pages say it through the catalogue) */
export const SIGN_IN_METHODS = ['password', 'password_2fa', 'password_security_key', 'passkey', 'security_key'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

/** how the last sign-in was made, from its amr */
export function signInMethod(amr: string[] | null): SignInMethod | null {
  if (!amr?.length) return null;
  const key = amr.includes('hwk') || amr.includes('swk');
  if (!amr.includes('pwd')) return key && amr.includes('mfa') ? 'passkey' : key ? 'security_key' : null;
  if (key) return 'password_security_key';
  return amr.includes('mfa') || amr.includes('otp') ? 'password_2fa' : 'password';
}

/** "2026-12-01" (a UTC calendar day, as a date input sends it) → that day's 00:00 UTC; '' → null */
export function parseDay(value: string | undefined): Date | null | 'invalid' {
  if (!value) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return 'invalid';
  const d = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value ? 'invalid' : d;
}

/** updatePolicy clears every member's persisted deadline when it is given a date: pass one only when it changes */
export function changedDate(current: Date | null, next: Date | null): Date | null | undefined {
  return (current?.getTime() ?? null) === (next?.getTime() ?? null) ? undefined : next;
}

export function meta(req: { ip: string; headers: Record<string, unknown> }) {
  return { ip: req.ip, userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : undefined };
}
