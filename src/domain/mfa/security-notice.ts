// A security change as the user hears of it: an audit row and, for the changes people must know about, a mail, both
// in the caller's transaction (a rolled-back change leaves neither).
import type { Db } from '../../db/database.ts';
import { recordAudit, type AuditEventName } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { Outbox } from '../email/outbox.ts';
import type { RequestMeta, User } from '../users/user.service.ts';

const NOTICES: Partial<Record<AuditEventName, { title: string; message: string }>> = {
  'totp.enabled': { title: 'two-factor authentication turned on', message: 'Two-factor authentication was turned on for your account.' },
  'totp.device_added': { title: 'authenticator added', message: 'A new authenticator app was added to your account.' },
  'totp.device_removed': { title: 'authenticator removed', message: 'An authenticator app was removed from your account.' },
  'totp.disabled': { title: 'two-factor authentication turned off', message: 'Two-factor authentication was turned off for your account.' },
  'recovery_code.used': { title: 'recovery code used', message: 'A recovery code was used to sign in to your account. Set up a new authenticator if you lost your phone.' },
  'recovery_codes.regenerated': { title: 'new recovery codes', message: 'New recovery codes were created for your account; the old ones no longer work.' },
  'recovery_codes.viewed': { title: 'recovery codes viewed', message: 'Your recovery codes were shown on your account page. If this was not you, change your password and create new recovery codes.' },
  'webauthn.added': { title: 'security key added', message: 'A security key or passkey was added to your account.' },
  'webauthn.removed': { title: 'security key removed', message: 'A security key or passkey was removed from your account.' },
  'webauthn.sign_count_regression': {
    title: 'a security key may have been copied',
    message: 'A sign-in with one of your security keys was refused because the key reported an older use counter than before, which is what a copied key looks like. If you did not just try to sign in, remove that key from your account.',
  },
};

export type SecurityRecorder = (trx: Db, event: AuditEventName, user: User, meta: RequestMeta, data?: Record<string, unknown>) => Promise<void>;

export function createSecurityRecorder(deps: { outbox: Outbox; clock: Clock; issuer: string }): SecurityRecorder {
  return async (trx, event, user, meta, data = {}) => {
    await recordAudit(trx, { event, actorUserId: user.id, targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent, data });
    const notice = NOTICES[event];
    if (notice) {
      await deps.outbox.enqueue(trx, user.email, 'security-notice', {
        ...notice,
        // the mail templates write the notice in the recipient's language from this key (email.notice.<kind>)
        kind: event.replace(/\./g, '_'),
        name: user.name,
        email: user.email,
        at: deps.clock.now().toISOString(),
        ip: meta.ip,
        issuer: deps.issuer,
      });
    }
  };
}
