// An organization's maximum lifetime for personal access tokens bound to it. Lowering it never shortens tokens that
// exist ("existing tokens keep working until they expire") unless the admin asks for that explicitly; both are audited.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { ValidationError } from '../errors.ts';
import type { RequestMeta } from '../users/user.service.ts';

export interface TokenPolicy {
  /** null: the deployment's maximum applies */
  maxDays: number | null;
}

export function createTokenPolicyService(deps: { db: Kysely<Database>; deploymentMaxDays: number }) {
  const { db } = deps;
  return {
    deploymentMaxDays: deps.deploymentMaxDays,

    async get(tenantId: string): Promise<TokenPolicy> {
      const row = await db.selectFrom('tenants').select('token_max_days').where('id', '=', tenantId).executeTakeFirst();
      return { maxDays: row?.token_max_days ?? null };
    },

    /** sets the maximum; `shortenExisting` also brings every live token bound to the organization within it */
    async set(tenantId: string, maxDays: number | null, shortenExisting: boolean, actorId: string | null, meta: RequestMeta = {}): Promise<{ shortened: number }> {
      if (maxDays !== null && (!Number.isInteger(maxDays) || maxDays < 1 || maxDays > deps.deploymentMaxDays)) {
        throw new ValidationError('invalid_token_max_days', `The maximum lifetime must be 1 to ${deps.deploymentMaxDays} days (or empty for the deployment's ${deps.deploymentMaxDays}).`, { vars: { max: deps.deploymentMaxDays } });
      }
      return db.transaction().execute(async (trx) => {
        await trx.updateTable('tenants').set({ token_max_days: maxDays }).where('id', '=', tenantId).execute();
        let shortened = 0;
        if (shortenExisting && maxDays !== null) {
          const rows = await trx
            .updateTable('personal_tokens')
            .set({ expires_at: sql`created_at + make_interval(days => ${maxDays})` })
            .where('tenant_id', '=', tenantId)
            .where('revoked_at', 'is', null)
            .where(sql<boolean>`expires_at > created_at + make_interval(days => ${maxDays})`)
            .returning('id')
            .execute();
          shortened = rows.length;
        }
        await recordAudit(trx, { event: 'tenant.token_policy_changed', tenantId, actorUserId: actorId, ip: meta.ip, userAgent: meta.userAgent, data: { maxDays, shortenExisting, shortened } });
        return { shortened };
      });
    },
  };
}

export type TokenPolicyService = ReturnType<typeof createTokenPolicyService>;
