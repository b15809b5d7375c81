// The one place that decides whether a sign-in needs a second factor. Every path that creates a session or issues
// a token asks it: the login prompt check (browser sign-in, SSO reuse, prompt=none), the password step, the
// token store (refresh tokens, access tokens, codes), and 2FA removal.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../clock.ts';

export const ACR_PWD = 'urn:gatehouse:acr:pwd';
export const ACR_MFA = 'urn:gatehouse:acr:mfa';

export interface MfaRequirementInput {
  /** acr_values of the authorization request, space-separated */
  acrValues?: string | null;
  /** values of an essential acr claim request (claims parameter) */
  essentialAcrs?: string[] | null;
}

/** a relying app demands MFA when every acr it accepts is the mfa one */
export function requestDemandsMfa(input: MfaRequirementInput): boolean {
  const essentials = input.essentialAcrs?.filter(Boolean) ?? [];
  if (essentials.length && essentials.every((a) => a === ACR_MFA)) return true;
  const values = (input.acrValues ?? '').split(' ').filter(Boolean);
  return values.length > 0 && values.every((a) => a === ACR_MFA);
}

export interface MfaDecision {
  /** the second factor must be completed in this authentication event */
  required: boolean;
  /** why: 'request', 'client', 'tenant:<slug>' */
  reasons: string[];
  /** a tenant rollout is in its grace period for this user: the earliest personal deadline */
  graceUntil: Date | null;
}

export interface MfaPolicyInput extends MfaRequirementInput {
  userId?: string | null;
  clientId?: string | null;
}

export function createMfaPolicy(deps: { db: Kysely<Database>; clock: Clock }) {
  const { db, clock } = deps;

  async function decide(input: MfaPolicyInput): Promise<MfaDecision> {
    const now = clock.now();
    const reasons: string[] = [];
    let graceUntil: Date | null = null;
    if (requestDemandsMfa(input)) reasons.push('request');
    if (input.clientId) {
      const c = await db
        .selectFrom('oidc_clients as c')
        .leftJoin('tenants as t', 't.id', 'c.tenant_id')
        .select(['c.require_mfa', 't.slug', 't.require_2fa', 't.enforce_from'])
        .where('c.client_id', '=', input.clientId)
        .executeTakeFirst();
      if (c?.require_mfa) reasons.push('client');
      // a tenant's private app applies the tenant's rule to everyone who signs in to it
      if (c?.require_2fa && (!c.enforce_from || c.enforce_from <= now)) reasons.push(`tenant:${c.slug}`);
    }
    if (input.userId && /^[0-9a-f-]{36}$/i.test(input.userId)) {
      const rows = await db
        .selectFrom('tenant_members as m')
        .innerJoin('tenants as t', 't.id', 'm.tenant_id')
        .select(['t.id', 't.slug', 't.enforce_from', 'm.mfa_deadline'])
        .where('m.user_id', '=', input.userId)
        .where('m.accepted_at', 'is not', null)
        .where('t.require_2fa', '=', true)
        .execute();
      for (const r of rows) {
        const deadline = r.mfa_deadline ?? r.enforce_from;
        if (!deadline || deadline <= now) reasons.push(`tenant:${r.slug}`);
        else if (!graceUntil || deadline < graceUntil) graceUntil = deadline;
      }
      // each member's deadline is fixed the first time it applies: moving the tenant's date later does not move it
      if (rows.some((r) => !r.mfa_deadline && r.enforce_from && r.enforce_from > now)) {
        await db
          .updateTable('tenant_members')
          .set({ mfa_deadline: sql`(SELECT enforce_from FROM tenants WHERE tenants.id = tenant_members.tenant_id)` })
          .where('user_id', '=', input.userId)
          .where('mfa_deadline', 'is', null)
          .where('tenant_id', 'in', rows.filter((r) => r.enforce_from && r.enforce_from > now).map((r) => r.id))
          .execute();
      }
    }
    return { required: reasons.length > 0, reasons: [...new Set(reasons)], graceUntil: reasons.length ? null : graceUntil };
  }

  return {
    decide,

    /** is an already-issued token (or session) still acceptable under today's policy? */
    async tokenAcceptable(userId: string | undefined, clientId: string | undefined, amr: string[] | undefined): Promise<boolean> {
      if (!userId) return true; // machine tokens
      if (amr?.includes('mfa')) return true;
      return !(await decide({ userId, clientId })).required;
    },

    /** the last factor cannot be removed while any of the user's tenants requires 2FA */
    async mayRemoveLastFactor(userId: string): Promise<boolean> {
      const row = await db
        .selectFrom('tenant_members as m')
        .innerJoin('tenants as t', 't.id', 'm.tenant_id')
        .select('t.id')
        .where('m.user_id', '=', userId)
        .where('m.accepted_at', 'is not', null)
        .where('t.require_2fa', '=', true)
        .executeTakeFirst();
      return !row;
    },
  };
}

export type MfaPolicy = ReturnType<typeof createMfaPolicy>;
