// The operator's changes to organizations (the CLI): list, rename, switch off, delete, remove a member by address.
// Policy changes (2FA, sign-in methods) stay in tenant.service.ts, shared with the console.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { recordAudit, type AuditEventName } from '../audit/audit.service.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { findUserRowByEmail } from '../users/user.repository.ts';
import type { RequestMeta } from '../users/user.service.ts';
import type { Tenant, TenantService } from './tenant.service.ts';

export interface TenantSummary {
  slug: string;
  name: string;
  members: number;
  invited: number;
  apps: number;
  require2fa: boolean;
  enforceFrom: Date | null;
  disabled: boolean;
  createdAt: Date;
}

export function createTenantAdmin(deps: { db: Kysely<Database>; tenants: TenantService }) {
  const { db } = deps;

  const base = () =>
    db
      .selectFrom('tenants as t')
      .select(['t.id', 't.slug', 't.name', 't.require_2fa', 't.enforce_from', 't.disabled_at', 't.created_at'])
      .select((eb) => eb.selectFrom('tenant_members as m').select((m) => m.fn.countAll<string>().as('n')).whereRef('m.tenant_id', '=', 't.id').where('m.accepted_at', 'is not', null).as('members'))
      .select((eb) => eb.selectFrom('tenant_members as m').select((m) => m.fn.countAll<string>().as('n')).whereRef('m.tenant_id', '=', 't.id').where('m.accepted_at', 'is', null).as('invited'))
      .select((eb) => eb.selectFrom('oidc_clients as c').select((c) => c.fn.countAll<string>().as('n')).whereRef('c.tenant_id', '=', 't.id').as('apps'));
  type Row = Awaited<ReturnType<ReturnType<typeof base>['executeTakeFirstOrThrow']>>;
  const toSummary = (r: Row): TenantSummary => ({
    slug: r.slug,
    name: r.name,
    members: Number(r.members ?? 0),
    invited: Number(r.invited ?? 0),
    apps: Number(r.apps ?? 0),
    require2fa: r.require_2fa,
    enforceFrom: r.enforce_from,
    disabled: r.disabled_at !== null,
    createdAt: r.created_at,
  });

  async function summary(slug: string): Promise<TenantSummary> {
    const t = await deps.tenants.bySlug(slug);
    return toSummary(await base().where('t.id', '=', t.id).executeTakeFirstOrThrow());
  }

  async function audit(db2: Kysely<Database>, event: AuditEventName, tenant: Tenant, meta: RequestMeta, data: Record<string, unknown> = {}) {
    await recordAudit(db2, { event, tenantId: tenant.id, ip: meta.ip, userAgent: meta.userAgent, data: meta.actor ? { ...data, actor: meta.actor } : data });
  }

  return {
    summary,

    async list(): Promise<TenantSummary[]> {
      return (await base().orderBy('t.slug').execute()).map(toSummary);
    },

    async rename(slug: string, name: string, meta: RequestMeta = {}): Promise<TenantSummary> {
      const t = await deps.tenants.bySlug(slug);
      const clean = name.trim();
      if (!clean) throw new ValidationError('invalid_name', 'An organization needs a name.');
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('tenants').set({ name: clean.slice(0, 200) }).where('id', '=', t.id).execute();
        await audit(trx, 'tenant.updated', t, meta, { from: t.name, to: clean });
      });
      return summary(slug);
    },

    /**
     * Off: the organization's private apps stop (the provider no longer knows them) and what was issued to them is
     * deleted; members keep their accounts and can still sign in to other apps. On gives none of the tokens back.
     */
    async setDisabled(slug: string, disabled: boolean, meta: RequestMeta = {}): Promise<{ tenant: TenantSummary; revoked: number }> {
      const t = await deps.tenants.bySlug(slug);
      const revoked = await db.transaction().execute(async (trx) => {
        await trx.updateTable('tenants').set({ disabled_at: disabled ? sql`now()` : null }).where('id', '=', t.id).execute();
        const n = disabled
          ? Number((await trx.deleteFrom('oidc_payloads').where(sql<string>`payload->>'clientId'`, 'in', trx.selectFrom('oidc_clients').select('client_id').where('tenant_id', '=', t.id)).executeTakeFirst()).numDeletedRows)
          : 0;
        await audit(trx, disabled ? 'tenant.disabled' : 'tenant.enabled', t, meta, disabled ? { revoked: n } : {});
        return n;
      });
      return { tenant: await summary(slug), revoked };
    },

    /**
     * Deletes the organization with its memberships, pending invitations and private apps (and what was issued to
     * them). Members keep their accounts. The audit log keeps its history.
     */
    async delete(slug: string, meta: RequestMeta = {}): Promise<TenantSummary> {
      const before = await summary(slug);
      const t = await deps.tenants.bySlug(slug);
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('oidc_payloads').where(sql<string>`payload->>'clientId'`, 'in', trx.selectFrom('oidc_clients').select('client_id').where('tenant_id', '=', t.id)).execute();
        await trx.deleteFrom('tenants').where('id', '=', t.id).execute();
        await audit(trx, 'tenant.deleted', t, meta, { slug: t.slug, name: t.name, members: before.members, apps: before.apps });
      });
      return before;
    },

    /** removes a member (or a pending invitation) by address; an organization's last owner stays */
    async removeMember(slug: string, email: string, meta: RequestMeta = {}): Promise<void> {
      const t = await deps.tenants.bySlug(slug);
      const user = await findUserRowByEmail(db, email);
      if (!user) throw new NotFoundError('member_not_found', `${email} is not a member of ${slug}.`);
      try {
        await deps.tenants.removeMember(t, user.id, null, meta);
      } catch (err) {
        if (err instanceof NotFoundError) throw new NotFoundError('member_not_found', `${email} is not a member of ${slug}.`);
        throw err;
      }
    },
  };
}

export type TenantAdmin = ReturnType<typeof createTenantAdmin>;
