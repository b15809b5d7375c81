// The audit log as people read it: an organization's log (its own events, and its members' sign-ins and 2FA changes
// from the day they joined, never before), and one person's own security activity. Filters, paging by id.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { isUuid } from '../ids.ts';

/** events about a member that their organization sees (only while, and since, they are a member) */
export const MEMBER_EVENTS = ['login.succeeded', 'login.completed', 'login.failed', 'totp.enabled', 'totp.disabled', 'totp.device_added', 'totp.device_removed', 'recovery_code.used', 'recovery_codes.regenerated', 'recovery_codes.viewed', 'totp.replay', 'mfa.throttled', 'webauthn.added', 'webauthn.removed', 'webauthn.failed', 'webauthn.sign_count_regression'];

export const PAGE_SIZE = 50;
/** the most rows one CSV export carries (a bounded query; narrow the filters for more) */
export const EXPORT_MAX = 5000;

export interface AuditFilter {
  /** an event name prefix ("login.") */
  event?: string;
  /** events where this user acted or was acted on */
  userId?: string;
  /** from this instant (inclusive) and before this one (exclusive) */
  from?: Date;
  until?: Date;
  /** paging: events older than this id */
  before?: string;
  limit?: number;
}

export interface AuditRow {
  id: string;
  at: Date;
  event: string;
  ip: string | null;
  user_agent: string | null;
  data: Record<string, unknown>;
  actor_user_id: string | null;
  actor_email: string | null;
  actor_name: string | null;
  target_user_id: string | null;
  target_email: string | null;
  target_name: string | null;
  client_id: string | null;
  client_name: string | null;
  tenant_name: string | null;
}

function baseQuery(db: Kysely<Database>) {
  return db
    .selectFrom('audit_events as a')
    .leftJoin('users as actor', 'actor.id', 'a.actor_user_id')
    .leftJoin('users as target', 'target.id', 'a.target_user_id')
    .leftJoin('oidc_clients as c', 'c.client_id', 'a.client_id')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .select(['t.name as tenant_name', 'a.id', 'a.at', 'a.event', 'a.ip', 'a.user_agent', 'a.data', 'a.actor_user_id', 'actor.email as actor_email', 'actor.name as actor_name', 'a.target_user_id', 'target.email as target_email', 'target.name as target_name', 'a.client_id', 'c.name as client_name']);
}

type Q = ReturnType<typeof baseQuery>;

function filtered(q: Q, filter: AuditFilter, maxLimit: number): Q {
  // a prefix match: LIKE's wildcards in the filter are escaped (event names contain "_")
  if (filter.event) q = q.where('a.event', 'like', `${filter.event.replace(/[\\%_]/g, '\\$&')}%`);
  if (filter.userId && isUuid(filter.userId)) q = q.where((eb) => eb.or([eb('a.actor_user_id', '=', filter.userId!), eb('a.target_user_id', '=', filter.userId!)]));
  if (filter.from) q = q.where('a.at', '>=', filter.from);
  if (filter.until) q = q.where('a.at', '<', filter.until);
  if (filter.before && /^\d{1,19}$/.test(filter.before)) q = q.where('a.id', '<', filter.before);
  return q.orderBy('a.id', 'desc').limit(Math.max(1, Math.min(filter.limit ?? 100, maxLimit)));
}

/** an organization's log, newest first */
export async function tenantAuditLog(db: Kysely<Database>, tenantId: string, filter: AuditFilter = {}, maxLimit = 500): Promise<AuditRow[]> {
  const q = baseQuery(db).where((eb) =>
    eb.or([
      eb('a.tenant_id', '=', tenantId),
      // a member's own events: only from the moment they joined (an invitee, or someone who left, shows nothing)
      eb.and([
        eb('a.tenant_id', 'is', null),
        eb('a.event', 'in', MEMBER_EVENTS),
        eb.exists(
          eb
            .selectFrom('tenant_members as m')
            .select('m.user_id')
            .where('m.tenant_id', '=', tenantId)
            .whereRef('m.user_id', '=', 'a.target_user_id')
            .where('m.accepted_at', 'is not', null)
            .whereRef('m.accepted_at', '<=', 'a.at'),
        ),
      ]),
    ]),
  );
  return (await filtered(q, filter, maxLimit).execute()) as AuditRow[];
}

/** what happened to one person's account, newest first (the account page's "Security activity") */
export async function userActivity(db: Kysely<Database>, userId: string, filter: AuditFilter = {}): Promise<AuditRow[]> {
  if (!isUuid(userId)) return [];
  const q = baseQuery(db)
    .where((eb) => eb.or([eb('a.target_user_id', '=', userId), eb.and([eb('a.actor_user_id', '=', userId), eb('a.tenant_id', 'is', null)])]))
    // the password step of a sign-in that then completed says the same thing twice: the completed sign-in is shown
    .where('a.event', '!=', 'login.succeeded');
  return (await filtered(q, filter, 100).execute()) as AuditRow[];
}
