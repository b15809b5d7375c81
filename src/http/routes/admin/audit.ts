import type { FastifyInstance } from 'fastify';
import type { Tenant, TenantService } from '../../../domain/tenants/tenant.service.ts';
import { dayTime, page, type AdminDeps } from './deps.ts';
import { memberOf, SLUG_PATTERN, UUID_PATTERN } from './rules.ts';

export const EVENT_FILTERS = [
  { value: 'tenant.', label: 'Organization changes' },
  { value: 'login.', label: 'Sign-ins' },
  { value: 'totp.', label: 'Authenticators' },
  { value: 'webauthn.', label: 'Security keys' },
  { value: 'recovery_code', label: 'Recovery codes' },
  { value: 'mfa.', label: 'Code throttling' },
] as const;

const EVENT_LABELS: Record<string, string> = {
  'tenant.created': 'Organization created',
  'tenant.policy_changed': 'Settings changed',
  'tenant.member_added': 'Member added',
  'tenant.role_changed': 'Role changed',
  'tenant.member_removed': 'Member removed',
  'tenant.member_2fa_reset': '2FA reset by an admin',
  'login.succeeded': 'Signed in',
  'login.failed': 'Sign-in failed',
  'totp.enabled': '2FA turned on',
  'totp.disabled': '2FA turned off',
  'totp.device_added': 'Authenticator added',
  'totp.device_removed': 'Authenticator removed',
  'totp.replay': 'Code replayed',
  'recovery_code.used': 'Recovery code used',
  'recovery_codes.regenerated': 'New recovery codes',
  'recovery_codes.viewed': 'Recovery codes viewed',
  'webauthn.added': 'Security key added',
  'webauthn.removed': 'Security key removed',
  'webauthn.failed': 'Security key refused',
  'webauthn.sign_count_regression': 'Security key counter went back (possible copy)',
  'mfa.throttled': 'Code attempts throttled',
  'personal_token.created': 'Access token created',
  'personal_token.revoked': 'Access token revoked',
  'tenant.token_policy_changed': 'Token lifetime changed',
};

export const auditQuery = {
  type: 'object',
  properties: {
    event: { type: 'string', maxLength: 64, pattern: '^[a-z0-9_.]*$' },
    member: { anyOf: [{ type: 'string', maxLength: 0 }, { type: 'string', pattern: UUID_PATTERN }] },
  },
} as const;

/** the filtered log; a member filter must name a member of this tenant (404 otherwise) */
export async function tenantAudit(tenants: TenantService, tenant: Tenant, filter: { event?: string; member?: string; limit?: number }) {
  if (filter.member) await memberOf(tenants, tenant, filter.member);
  return tenants.auditLog(tenant, { event: filter.event || undefined, userId: filter.member || undefined, limit: filter.limit });
}

/** a short "key: value" summary of an event's data */
function summary(data: unknown): string {
  if (!data || typeof data !== 'object') return '';
  return Object.entries(data as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ')
    .slice(0, 300);
}

/** GET /admin/:slug/audit?event=<prefix>&member=<user id> */
export default async function adminAudit(app: FastifyInstance, deps: AdminDeps) {
  app.get<{ Params: { slug: string }; Querystring: { event?: string; member?: string } }>(
    '/admin/:slug/audit',
    { schema: { params: { type: 'object', required: ['slug'], properties: { slug: { type: 'string', pattern: SLUG_PATTERN } } }, querystring: auditQuery } },
    async (req, reply) => {
      const tenant = req.adminTenant!;
      const rows = await tenantAudit(deps.tenants, tenant, { event: req.query.event, member: req.query.member });
      const { members } = await deps.tenants.members(tenant);
      return page(
        reply,
        deps.render('admin/audit.njk', {
          tenant,
          user: req.adminUser,
          section: 'audit',
          filter: { event: req.query.event ?? '', member: req.query.member ?? '' },
          eventFilters: EVENT_FILTERS.map((f) => ({ ...f, selected: f.value === req.query.event })),
          members: members.map((m) => ({ id: m.userId, label: m.name ? `${m.name} (${m.email})` : m.email, selected: m.userId === req.query.member })),
          events: rows.map((r) => ({
            id: r.id,
            at: { iso: r.at.toISOString(), text: dayTime(r.at) },
            event: r.event,
            label: EVENT_LABELS[r.event] ?? r.event,
            actor: r.actor_email,
            target: r.target_email,
            ip: r.ip,
            details: summary(r.data),
          })),
        }),
      );
    },
  );
}
