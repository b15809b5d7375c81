// Someone else resets a person's 2FA (lost phone): an organization admin from the console, or the operator from the
// CLI (break-glass). One function for both, so that both do exactly the same: every factor and recovery code goes,
// every session, token and link dies (credential epoch), the audit row carries the reason, and the person is mailed.
import type { Db } from '../../db/database.ts';
import { bumpCredentialEpoch } from '../accounts/credential-epoch.ts';
import { recordAudit, type AuditEventName } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { Outbox } from '../email/outbox.ts';
import { ValidationError } from '../errors.ts';
import type { RequestMeta } from '../users/user.service.ts';
import { removeAllFactors } from './factors.ts';

export interface TwoFactorReset {
  user: { id: string; email: string; name: string | null };
  reason: string;
  event: Extract<AuditEventName, 'tenant.member_2fa_reset' | 'mfa.reset_by_operator'>;
  /** the admin who did it (null: the operator) */
  actorUserId: string | null;
  tenantId?: string | null;
  /** the sentence the person reads: who reset it, and what happens next */
  message: string;
  /** the same sentence from the catalogue, in the recipient's language (email.notice.<kind>) */
  notice: { kind: string; vars?: Record<string, string> };
  meta: RequestMeta;
}

export function checkResetReason(reason: string | undefined): string {
  const r = reason?.trim();
  if (!r) throw new ValidationError('reason_required', 'Give a reason; it goes to the audit log.');
  return r.slice(0, 500);
}

/** call inside the transaction of the reset */
export async function resetTwoFactor(trx: Db, deps: { outbox: Outbox; clock: Clock; issuer: string }, r: TwoFactorReset): Promise<void> {
  const reason = checkResetReason(r.reason);
  await removeAllFactors(trx, r.user.id);
  await bumpCredentialEpoch(trx, r.user.id);
  await recordAudit(trx, {
    event: r.event,
    tenantId: r.tenantId ?? null,
    actorUserId: r.actorUserId,
    targetUserId: r.user.id,
    ip: r.meta.ip,
    userAgent: r.meta.userAgent,
    data: { reason, ...(r.meta.actor ? { actor: r.meta.actor } : {}) },
  });
  await deps.outbox.enqueue(trx, r.user.email, 'security-notice', {
    kind: r.notice.kind,
    vars: r.notice.vars ?? {},
    title: r.actorUserId ? 'two-factor authentication reset by an administrator' : 'two-factor authentication reset by the operator',
    message: r.message,
    name: r.user.name,
    email: r.user.email,
    at: deps.clock.now().toISOString(),
    ip: r.meta.ip,
    issuer: deps.issuer,
  });
}
