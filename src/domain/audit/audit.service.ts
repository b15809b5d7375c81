import type { Kysely, QueryCreator } from 'kysely';
import { compiledOnce } from '../../db/compiled.ts';
import type { Database, Db } from '../../db/database.ts';

export type AuditEventName =
  | 'login.succeeded'
  | 'login.completed'
  | 'login.failed'
  | 'upstream.added'
  | 'upstream.updated'
  | 'upstream.removed'
  | 'federation.failed'
  | 'federation.refused'
  | 'federation.account_created'
  | 'federation.linked'
  | 'federation.unlinked'
  | 'user.created'
  | 'user.disabled'
  | 'personal_token.created'
  | 'personal_token.revoked'
  | 'personal_token.expiry_notified'
  | 'tenant.token_policy_changed'
  | 'user.enabled'
  | 'client.created'
  | 'client.updated'
  | 'client.disabled'
  | 'client.enabled'
  | 'client.deleted'
  | 'client.secret_rotated'
  | 'user.updated'
  | 'user.deleted'
  | 'password.set_by_operator'
  | 'mfa.reset_by_operator'
  | 'tenant.updated'
  | 'tenant.disabled'
  | 'tenant.enabled'
  | 'tenant.deleted'
  | 'key.rotated'
  | 'logout'
  | 'backchannel.delivered'
  | 'backchannel.failed'
  | 'backchannel.gave_up'
  | 'refresh_token.reuse'
  | 'totp.enabled'
  | 'totp.device_added'
  | 'totp.device_removed'
  | 'totp.disabled'
  | 'totp.failed'
  | 'totp.replay'
  | 'recovery_code.used'
  | 'recovery_code.failed'
  | 'recovery_codes.regenerated'
  | 'recovery_codes.viewed'
  | 'webauthn.added'
  | 'webauthn.removed'
  | 'webauthn.failed'
  | 'webauthn.sign_count_regression'
  | 'mfa.throttled'
  | 'login.throttled'
  | 'login.method_refused'
  | 'user.signed_up'
  | 'user.invited'
  | 'invitation.accepted'
  | 'email.verified'
  | 'email.change_requested'
  | 'email.changed'
  | 'password.reset_requested'
  | 'password.reset'
  | 'password.changed'
  | 'profile.changed'
  | 'session.revoked'
  | 'grant.revoked'
  | 'tenant.created'
  | 'tenant.policy_changed'
  | 'tenant.member_added'
  | 'tenant.member_joined'
  | 'tenant.role_changed'
  | 'tenant.member_removed'
  | 'tenant.member_2fa_reset';

export interface AuditEvent {
  event: AuditEventName;
  actorUserId?: string | null;
  targetUserId?: string | null;
  clientId?: string | null;
  tenantId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  data?: Record<string, unknown>;
}

/** the audit row's columns, in the order of an AuditRow's values */
const AUDIT_COLUMNS = ['event', 'actor_user_id', 'target_user_id', 'client_id', 'tenant_id', 'ip', 'user_agent', 'data'] as const;

/**
 * An audit row to write as part of another statement (a data-modifying CTE: it commits with that statement's write),
 * as values, so that the statement carrying it can be compiled once (db/compiled.ts) and bind them
 */
export interface AuditRow {
  readonly values: readonly unknown[];
}

export function auditWithin(e: AuditEvent): AuditRow {
  const v = auditValues(e);
  return { values: AUDIT_COLUMNS.map((c) => v[c]) };
}

/** the insert of an audit row inside another statement; `values`: an AuditRow's (placeholders while compiledOnce builds) */
export function auditInsert(qb: QueryCreator<Database>, values: readonly unknown[]) {
  return qb.insertInto('audit_events').values(Object.fromEntries(AUDIT_COLUMNS.map((c, i) => [c, values[i]])) as unknown as ReturnType<typeof auditValues>);
}

/** an audit row written along with a settlement of the guess counters, in its statement (throttle.service.ts AlongRow) */
export function auditAlong(row: AuditRow): { name: string; values: readonly unknown[]; insert: typeof auditInsert } {
  return { name: 'audit', values: row.values, insert: auditInsert };
}

/** how many values an AuditRow binds */
export const AUDIT_VALUES = AUDIT_COLUMNS.length;

function auditValues(e: AuditEvent) {
  return { event: e.event, actor_user_id: e.actorUserId ?? null, target_user_id: e.targetUserId ?? null, client_id: e.clientId ?? null, tenant_id: e.tenantId ?? null, ip: e.ip ?? null, user_agent: e.userAgent?.slice(0, 512) ?? null, data: JSON.stringify(e.data ?? {}) };
}

/** the audit row's insert on its own, compiled once (db/compiled.ts) */
const insertAudit = compiledOnce((db: Kysely<Database>, _shape: 'one', ...values: unknown[]) => auditInsert(db, values));

/** Call inside the same transaction as the change it records. */
export async function recordAudit(db: Db, e: AuditEvent): Promise<void> {
  await insertAudit(db, 'one', ...auditWithin(e).values);
}
