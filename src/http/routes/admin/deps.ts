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
import { grantableRoles, signInMethod, type SignInMethod } from './rules.ts';
import { currentLocale, translate } from '../../locale.ts';
import { formatDate } from '../../../i18n/catalogue.ts';

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

/** the kinds of second factor, as the member list names them (catalogue keys) */
const FACTOR_KEYS: Record<FactorKind, string> = { webauthn: 'account.securityKey', totp: 'factorKinds.totp' };

/** how the last sign-in was made, as the member list says it (catalogue keys; the JSON API gives signInMethod's codes) */
const METHOD_KEYS: Record<SignInMethod, string> = {
  password: 'signInMethods.password',
  password_2fa: 'signInMethods.passwordTwoFactor',
  password_security_key: 'signInMethods.passwordKey',
  passkey: 'signInMethods.passkey',
  security_key: 'signInMethods.securityKey',
};

/** a role as the page's language names it ("Owner", "Inhaber"); data and the JSON API carry the code */
export const roleLabel = (role: TenantRole): string => translate(`roles.${role}`);

/** a day as the page's language writes it (UTC), as the templates' date filter does */
export function day(d: Date): string {
  return formatDate(d, currentLocale(), 'date');
}

/** a day and time as the page's language writes it, "UTC" named */
export function dayTime(d: Date): string {
  return formatDate(d, currentLocale(), 'datetime');
}

export const when = (d: Date | null) => (d ? { iso: d.toISOString(), text: day(d), full: dayTime(d) } : null);

/** a member as the members list shows it, with what this actor may do to them */
export function memberRow(m: Member, actor: { id: string; role: TenantRole }, resetNeedsOthers = false) {
  const ownerOnly = m.role === 'owner' && actor.role !== 'owner';
  return {
    ...m,
    label: m.name || m.email,
    roleLabel: roleLabel(m.role),
    lastSignIn: when(m.lastSignInAt),
    method: ((method) => (method ? translate(METHOD_KEYS[method]) : null))(signInMethod(m.lastSignInAmr)),
    deadlineText: when(m.deadline),
    isSelf: m.userId === actor.id,
    roleOptions: ownerOnly ? [] : grantableRoles(actor.role).map((r) => ({ value: r, label: roleLabel(r), selected: r === m.role })),
    canRemove: !ownerOnly,
    canReset: m.factors.length > 0 && !ownerOnly && m.userId !== actor.id && !resetNeedsOthers,
    /** a reset the actor may not do alone: the list says what to do instead of offering the button */
    resetNeedsOthers: m.factors.length > 0 && !ownerOnly && m.userId !== actor.id && resetNeedsOthers,
    factorLabels: m.factors.map((k) => translate(FACTOR_KEYS[k])),
  };
}

