import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EXPORT_MAX, PAGE_SIZE, type AuditFilter } from '../../../domain/audit/audit-log.ts';
import { auditCsv, describeEvent, phraseText } from '../../../domain/audit/audit-sentences.ts';
import type { Tenant, TenantService } from '../../../domain/tenants/tenant.service.ts';
import { dayTime, page, type AdminDeps } from './deps.ts';
import { memberOf, parseDay, SLUG_PATTERN, UUID_PATTERN } from './rules.ts';
import { translate } from '../../locale.ts';

export const EVENT_FILTERS = [
  { value: 'tenant.', label: 'auditFilters.tenant' },
  { value: 'login.', label: 'auditFilters.login' },
  { value: 'totp.', label: 'auditFilters.totp' },
  { value: 'webauthn.', label: 'auditFilters.webauthn' },
  { value: 'recovery_code', label: 'auditFilters.recovery' },
  { value: 'mfa.', label: 'auditFilters.mfa' },
] as const;

const DAY = { anyOf: [{ type: 'string', maxLength: 0 }, { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' }] } as const;
export const auditQuery = {
  type: 'object',
  properties: {
    event: { type: 'string', maxLength: 64, pattern: '^[a-z0-9_.]*$' },
    member: { anyOf: [{ type: 'string', maxLength: 0 }, { type: 'string', pattern: UUID_PATTERN }] },
    from: DAY,
    to: DAY,
    before: { type: 'string', pattern: '^\\d{1,19}$' },
  },
} as const;
type AuditQuery = { event?: string; member?: string; from?: string; to?: string; before?: string };

/** the filtered log; a member filter must name a member of this tenant (404 otherwise) */
export async function tenantAudit(tenants: TenantService, tenant: Tenant, filter: Omit<AuditFilter, 'userId'> & { member?: string }) {
  if (filter.member) await memberOf(tenants, tenant, filter.member);
  return tenants.auditLog(tenant, { ...filter, event: filter.event || undefined, userId: filter.member || undefined });
}

/** the query's days as instants: "to" is inclusive (the whole day, UTC); a bad date is a 400 with the field named (and its message's catalogue key) */
function dayRange(q: AuditQuery): { from?: Date; until?: Date } | { error: string; field: 'from' | 'to' } {
  const from = parseDay(q.from);
  const to = parseDay(q.to);
  if (from === 'invalid') return { error: 'errors.invalid_date', field: 'from' };
  if (to === 'invalid') return { error: 'errors.invalid_date', field: 'to' };
  const until = to ? new Date(to.getTime() + 24 * 3600 * 1000) : undefined;
  if (from && until && from >= until) return { error: 'errors.date_order', field: 'to' };
  return { from: from ?? undefined, until };
}

/** GET /admin/:slug/audit (a page of 50, newest first) and /admin/:slug/audit.csv (the same filters, every row up to the export limit) */
export default async function adminAudit(app: FastifyInstance, deps: AdminDeps) {
  const schema = { params: { type: 'object', required: ['slug'], properties: { slug: { type: 'string', pattern: SLUG_PATTERN } } }, querystring: auditQuery } as const;

  app.get<{ Params: { slug: string }; Querystring: AuditQuery }>('/admin/:slug/audit', { schema }, async (req, reply) => {
    const tenant = req.adminTenant!;
    const q = req.query;
    const range = dayRange(q);
    const rows = 'error' in range ? [] : await tenantAudit(deps.tenants, tenant, { event: q.event, member: q.member, ...range, before: q.before, limit: PAGE_SIZE + 1 });
    const more = rows.length > PAGE_SIZE;
    const shown = rows.slice(0, PAGE_SIZE);
    const { members } = await deps.tenants.members(tenant);
    const filterParams = new URLSearchParams(Object.entries({ event: q.event ?? '', member: q.member ?? '', from: q.from ?? '', to: q.to ?? '' }).filter(([, v]) => v));
    const older = more ? `?${new URLSearchParams([...filterParams, ['before', shown.at(-1)!.id]]).toString()}` : null;
    return page(
      reply,
      deps.render('admin/audit.njk', {
        tenant,
        user: req.adminUser,
        section: 'audit',
        filter: { event: q.event ?? '', member: q.member ?? '', from: q.from ?? '', to: q.to ?? '', paged: Boolean(q.before) },
        fieldError: 'error' in range ? { field: range.field, error: translate(range.error) } : null,
        eventFilters: EVENT_FILTERS.map((f) => ({ value: f.value, label: translate(f.label), selected: f.value === q.event })),
        members: members.filter((m) => !m.invitationPending).map((m) => ({ id: m.userId, label: m.name ? `${m.name} (${m.email})` : m.email, selected: m.userId === q.member })),
        events: shown.map((r) => ({
          id: r.id,
          at: { iso: r.at.toISOString(), text: dayTime(r.at) },
          event: r.event,
          sentence: phraseText(describeEvent(r), translate),
          ip: r.ip,
        })),
        older,
        newest: q.before ? `?${filterParams.toString()}` : null,
        csv: `/admin/${tenant.slug}/audit.csv${filterParams.size ? `?${filterParams.toString()}` : ''}`,
      }),
      'error' in range ? 400 : 200,
    );
  });

  app.get<{ Params: { slug: string }; Querystring: AuditQuery }>('/admin/:slug/audit.csv', { schema }, async (req: FastifyRequest<{ Params: { slug: string }; Querystring: AuditQuery }>, reply) => {
    const tenant = req.adminTenant!;
    const range = dayRange(req.query);
    if ('error' in range) return reply.status(400).type('text/plain; charset=utf-8').send(`${range.field}: ${translate(range.error)}\n`);
    const rows = await deps.tenants.auditLog(tenant, { event: req.query.event || undefined, userId: req.query.member ? (await memberOf(deps.tenants, tenant, req.query.member)).userId : undefined, ...range, limit: EXPORT_MAX });
    return reply
      .type('text/csv; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="${tenant.slug}-audit.csv"`)
      .send(auditCsv(rows, translate));
  });
}
