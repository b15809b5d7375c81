// What an invitation link's page tells the person before they accept: which organization, who invited them, their
// role, and what the organization can do to their account once they accept. Read from a link that is still good;
// nothing is used up by reading.
import type { Kysely } from 'kysely';
import type { Database, TenantRole } from '../../db/database.ts';
import type { Clock } from '../clock.ts';
import { peekEmailToken } from './email-token.ts';

export interface InvitationDetails {
  organization: string;
  role: TenantRole;
  /** a person's name (or address), "the Gatehouse operator", or null when nobody is on record */
  invitedBy: string | null;
  /** the organization requires 2FA (now, or from `from`) */
  requires2fa: boolean;
  requires2faFrom: Date | null;
}

/** the organizations a link invites to: the one of a join link; every pending one of an account invitation */
export async function invitationDetails(db: Kysely<Database>, clock: Clock, token: string, purpose: 'invite' | 'join_tenant'): Promise<InvitationDetails[] | null> {
  const peek = await peekEmailToken(db, clock, token, purpose);
  if (!peek) return null;
  let q = db
    .selectFrom('tenant_members as m')
    .innerJoin('tenants as t', 't.id', 'm.tenant_id')
    .select(['t.id', 't.name', 't.require_2fa', 't.enforce_from', 'm.role'])
    .where('m.user_id', '=', peek.userId)
    .where('m.accepted_at', 'is', null)
    .orderBy('t.name');
  if (purpose === 'join_tenant') q = q.where('m.tenant_id', '=', peek.tenantId ?? '00000000-0000-0000-0000-000000000000');
  const rows = await q.execute();
  return Promise.all(
    rows.map(async (r) => {
      // the latest invitation on record for this person in this organization
      const by = await db
        .selectFrom('audit_events as a')
        .leftJoin('users as u', 'u.id', 'a.actor_user_id')
        .select(['a.actor_user_id', 'u.name', 'u.email'])
        .where('a.tenant_id', '=', r.id)
        .where('a.target_user_id', '=', peek.userId)
        .where('a.event', '=', 'tenant.member_added')
        .orderBy('a.id', 'desc')
        .executeTakeFirst();
      const invitedBy = !by ? null : by.actor_user_id ? (by.name ? `${by.name} (${by.email})` : by.email) : 'the Gatehouse operator';
      const now = clock.now();
      return { organization: r.name, role: r.role, invitedBy, requires2fa: r.require_2fa, requires2faFrom: r.require_2fa && r.enforce_from && r.enforce_from > now ? r.enforce_from : null };
    }),
  );
}
