// What the account flows share: their dependencies, the mail with a link (through the outbox, in the caller's
// transaction), security notices, audit rows and setting a password.
import { sql, type Kysely } from 'kysely';
import type { Database, Db, EmailTokenPurpose } from '../../db/database.ts';
import { recordAudit, type AuditEventName } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { Outbox } from '../email/outbox.ts';
import { DomainError } from '../errors.ts';
import type { PasswordHasher } from '../users/password-hasher.ts';
import type { RequestMeta, UserService } from '../users/user.service.ts';
import { TOKEN_TTL_SECONDS } from './email-token.ts';

export interface AccountDeps {
  db: Kysely<Database>;
  users: UserService;
  hasher: PasswordHasher;
  outbox: Outbox;
  clock: Clock;
  issuer: string;
  signupEnabled: boolean;
}

export class LinkInvalidError extends DomainError {
  constructor() {
    super('link_invalid', 'This link has expired or was already used. Ask for a new one.', 400);
  }
}

const PATHS: Record<EmailTokenPurpose, string> = {
  verify_email: '/verify-email',
  reset_password: '/reset-password',
  invite: '/invite',
  change_email: '/verify-email-change',
  join_tenant: '/join',
};

export function accountHelpers(deps: AccountDeps) {
  const { hasher, outbox } = deps;
  const hours = (p: EmailTokenPurpose) => Math.round(TOKEN_TTL_SECONDS[p] / 3600);

  async function audit(trx: Db, event: AuditEventName, userId: string | null, meta: RequestMeta, data: Record<string, unknown> = {}) {
    await recordAudit(trx, { event, actorUserId: userId, targetUserId: userId, ip: meta.ip, userAgent: meta.userAgent, data });
  }

  async function mailLink(trx: Db, to: string, name: string | null, purpose: EmailTokenPurpose, token: string, text: { subject: string; intro: string; action: string; textKey?: string; org?: string }) {
    await outbox.enqueue(trx, to, 'link', {
      ...text,
      name,
      link: `${deps.issuer}${PATHS[purpose]}?token=${token}`,
      // the templates write these in the recipient's language (email.link.<purpose>); the texts above are the English fallback
      purpose,
      hours: hours(purpose),
      translated: true,
      outro: `The link works once and expires in ${hours(purpose) >= 48 ? `${hours(purpose) / 24} days` : `${hours(purpose)} hour${hours(purpose) === 1 ? '' : 's'}`}. If you did not ask for this, ignore this message.`,
    });
  }

  /** a security notice; `kind` names its words in the catalogue (email.notice.<kind>), `vars` their values; title and message are the English fallback */
  async function notice(trx: Db, user: { email: string; name: string | null }, kind: string, title: string, message: string, meta: RequestMeta, vars: Record<string, string> = {}) {
    await outbox.enqueue(trx, user.email, 'security-notice', { kind, vars, title, message, name: user.name, email: user.email, at: deps.clock.now().toISOString(), ip: meta.ip, issuer: deps.issuer });
  }

  async function setPassword(trx: Db, userId: string, password: string, extra: { email_verified?: boolean } = {}) {
    const hash = await hasher.hash(password);
    await trx.updateTable('users').set({ password_hash: hash, password_changed_at: sql`now()`, updated_at: sql`now()`, ...extra }).where('id', '=', userId).execute();
  }

  return { audit, mailLink, notice, setPassword };
}

export type AccountHelpers = ReturnType<typeof accountHelpers>;
