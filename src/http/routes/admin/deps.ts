import type { FastifyReply } from 'fastify';
import type { TenantRole } from '../../../db/database.ts';
import type { FactorKind, MfaPolicy } from '../../../domain/mfa/mfa-policy.ts';
import type { TwoFactorService } from '../../../domain/mfa/two-factor.service.ts';
import type { Member, Tenant, TenantService } from '../../../domain/tenants/tenant.service.ts';
import type { User, UserService } from '../../../domain/users/user.service.ts';
import type { PersonalTokenService } from '../../../domain/tokens/personal-token.service.ts';
import type { TokenPolicyService } from '../../../domain/tokens/token-policy.ts';
import type { SessionReader } from '../../../oidc/session-reader.ts';
import type { Render } from '../../views.ts';
import { grantableRoles, signInMethod } from './rules.ts';

export interface AdminDeps {
  readSession: SessionReader;
  users: UserService;
  tenants: TenantService;
  twoFactor: TwoFactorService;
  /** admin actions are guarded by the same 2FA policy as sign-in: a session too weak for it must step up */
  mfaPolicy: MfaPolicy;
  render: Render;
  personalTokens: PersonalTokenService;
  tokenPolicy: TokenPolicyService;
}

declare module 'fastify' {
  interface FastifyRequest {
    adminUser: User | null;
    /** set on every /admin/:slug route: the tenant, and the signed-in user's role in it (owner or admin) */
    adminTenant: Tenant | null;
    adminRole: 'owner' | 'admin' | null;
  }
}

export function page(reply: FastifyReply, html: string, status = 200) {
  return reply.status(status).type('text/html').header('cache-control', 'no-store').send(html);
}

/** the kinds of second factor, as the member list names them */
export const FACTOR_LABELS: Record<FactorKind, string> = { webauthn: 'Security key', totp: 'Authenticator app' };

export const ROLE_LABELS: Record<TenantRole, string> = { owner: 'Owner', admin: 'Admin', member: 'Member' };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "25 Nov 2026" (UTC) */
export function day(d: Date): string {
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** "25 Nov 2026, 14:05 UTC" */
export function dayTime(d: Date): string {
  return `${day(d)}, ${d.toISOString().slice(11, 16)} UTC`;
}

export const when = (d: Date | null) => (d ? { iso: d.toISOString(), text: day(d), full: dayTime(d) } : null);

/** a member as the members list shows it, with what this actor may do to them */
export function memberRow(m: Member, actor: { id: string; role: TenantRole }, resetNeedsOthers = false) {
  const ownerOnly = m.role === 'owner' && actor.role !== 'owner';
  return {
    ...m,
    label: m.name || m.email,
    roleLabel: ROLE_LABELS[m.role],
    lastSignIn: when(m.lastSignInAt),
    method: signInMethod(m.lastSignInAmr),
    deadlineText: when(m.deadline),
    isSelf: m.userId === actor.id,
    roleOptions: ownerOnly ? [] : grantableRoles(actor.role).map((r) => ({ value: r, label: ROLE_LABELS[r], selected: r === m.role })),
    canRemove: !ownerOnly,
    canReset: m.factors.length > 0 && !ownerOnly && m.userId !== actor.id && !resetNeedsOthers,
    /** a reset the actor may not do alone: the list says what to do instead of offering the button */
    resetNeedsOthers: m.factors.length > 0 && !ownerOnly && m.userId !== actor.id && resetNeedsOthers,
    factorLabels: m.factors.map((k) => FACTOR_LABELS[k]),
  };
}

