// Audit events in words ("Ann signed in to Demo app with password + authenticator"), and the CSV export. Plain
// English here; the pages show these sentences as they are.
import { ACCOUNT_CLIENT_ID } from '../clients/client.service.ts';
import type { AuditRow } from './audit-log.ts';

/** the user agent the CLI records: its actions have no signed-in actor */
export const CLI_USER_AGENT = 'gatehouse-cli';

/** how a sign-in was made, from its amr (RFC 8176 values as oidc/acr-amr.ts emits them) */
export function methodName(amr: readonly string[] | null | undefined, upstream?: string): string | null {
  if (!amr?.length) return null;
  const has = (v: string) => amr.includes(v);
  const key = has('hwk') ? 'security key' : has('swk') ? 'passkey' : null;
  const first = has('pwd') ? 'password' : has('fed') ? (upstream ?? 'another provider') : null;
  if (!first) return key ? (has('user') ? 'passkey' : `${key} (without PIN or biometrics)`) : null;
  const second = has('otp') ? 'authenticator' : key ?? (has('mfa') && has('pwd') ? 'recovery code' : null);
  if (second) return `${first} + ${second}`;
  // an upstream provider whose own second factor Gatehouse trusts
  return has('fed') && has('mfa') ? `${first} (with its two-factor)` : first;
}

const FAILURE_REASONS: Record<string, string> = {
  bad_password: 'wrong password',
  unknown_user: 'no such account',
  disabled: 'account disabled',
};

const ROLE_WORDS: Record<string, string> = { owner: 'owner', admin: 'admin', member: 'member' };

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** who did it: a person, the operator at the command line, or Gatehouse itself */
export function actorName(e: Pick<AuditRow, 'actor_user_id' | 'actor_name' | 'actor_email' | 'user_agent'>): string | null {
  if (e.actor_user_id) return e.actor_name || e.actor_email || 'a deleted user';
  return e.user_agent === CLI_USER_AGENT ? 'operator (CLI)' : null;
}

const targetName = (e: AuditRow) => (e.target_user_id ? e.target_name || e.target_email || 'a deleted user' : null);

/** one event as a sentence */
export function describeEvent(e: AuditRow): string {
  const d = e.data ?? {};
  const target = targetName(e) ?? 'someone';
  const actor = actorName(e);
  // the person the event is about when it has no separate actor (their own sign-in, their own 2FA change)
  const who = actor ?? target;
  const appName = e.client_id === ACCOUNT_CLIENT_ID ? 'the account page' : e.client_name;
  const app = appName ? ` to ${appName}` : '';
  const amr = Array.isArray(d.amr) ? (d.amr as string[]) : null;
  // changes to an organization are always made by someone: with no signed-in actor, that is the operator
  const by = actor ?? 'an operator';
  const org = e.tenant_name ? ` ${e.tenant_name}` : '';
  switch (e.event) {
    case 'login.completed':
      return `${target} signed in${app} with ${methodName(amr, str(d.upstream)) ?? 'an unknown method'}`;
    case 'login.succeeded':
      if (d.method === 'fed') return `${target} came back from ${str(d.upstream) ?? 'another provider'}${app ? `, signing in${app}` : ''}`;
      if (d.method === 'passkey') return `${target} used a passkey${app ? `, signing in${app}` : ''}`;
      return `${target} entered the right password${app ? `, signing in${app}` : ''}`;
    case 'login.failed':
      return `A sign-in${e.target_user_id ? ` as ${target}` : ''}${app} failed: ${FAILURE_REASONS[str(d.reason) ?? ''] ?? str(d.reason)?.replace(/_/g, ' ') ?? 'refused'}`;
    case 'login.throttled':
      return `Sign-ins${app} were paused after too many wrong passwords`;
    case 'login.method_refused':
      return `${target} was refused: ${str(d.organization) ?? 'an organization'} does not allow that sign-in method`;
    case 'tenant.created':
      return `${by} created the organization${org}`;
    case 'tenant.policy_changed':
      return `${by} changed the settings${org ? ` of${org}` : ''}: two-factor authentication ${d.require2fa ? `required${d.enforceFrom ? ` from ${String(d.enforceFrom).slice(0, 10)}` : ''}` : 'optional'}`;
    case 'tenant.member_added':
      return `${by} ${d.resent ? 'invited again' : d.pending ? 'invited' : 'added'} ${target}${org ? ` to${org}` : ''} as ${ROLE_WORDS[str(d.role) ?? ''] ?? 'member'}`;
    case 'tenant.member_joined':
      return `${target} accepted the invitation and joined${org}`;
    case 'tenant.role_changed':
      return `${by} changed ${target}'s role${org ? ` in${org}` : ''} from ${ROLE_WORDS[str(d.from) ?? ''] ?? '?'} to ${ROLE_WORDS[str(d.to) ?? ''] ?? '?'}`;
    case 'tenant.member_removed':
      return `${by} removed ${target}${org ? ` from${org}` : ''}`;
    case 'tenant.member_2fa_reset':
      return `${by} reset ${target}'s two-factor authentication${str(d.reason) ? ` (reason: ${str(d.reason)})` : ''}`;
    case 'tenant.token_policy_changed':
      return `${by} changed the longest lifetime of access tokens`;
    case 'totp.enabled':
      return `${who} turned on two-factor authentication${actor && e.target_user_id && e.target_user_id !== e.actor_user_id ? ` for ${target}` : ''}`;
    case 'totp.disabled':
      return `${who} turned off two-factor authentication`;
    case 'totp.device_added':
      return `${who} added an authenticator app${str(d.name) ? ` (“${str(d.name)}”)` : ''}`;
    case 'totp.device_removed':
      return `${who} removed an authenticator app${str(d.name) ? ` (“${str(d.name)}”)` : ''}`;
    case 'totp.replay':
      return `An authenticator code of ${target} was used a second time and refused`;
    case 'recovery_code.used':
      return `${who} used a recovery code`;
    case 'recovery_codes.regenerated':
      return `${who} created new recovery codes (the old ones stopped working)`;
    case 'recovery_codes.viewed':
      return `${who} looked at their recovery codes`;
    case 'webauthn.added':
      return `${who} added a security key or passkey${str(d.name) ? ` (“${str(d.name)}”)` : ''}`;
    case 'webauthn.removed':
      return `${who} removed a security key or passkey${str(d.name) ? ` (“${str(d.name)}”)` : ''}`;
    case 'webauthn.failed':
      return `A security key was refused for ${target}`;
    case 'webauthn.sign_count_regression':
      return `A security key of ${target} reported a counter that went back (it may have been copied)`;
    case 'mfa.throttled':
      return `Codes for ${target} were paused after too many wrong attempts`;
    case 'personal_token.created':
      return `${who} created an access token${str(d.name) ? ` (“${str(d.name)}”)` : ''}`;
    case 'personal_token.revoked':
      return `${who} revoked an access token${str(d.name) ? ` (“${str(d.name)}”)` : ''}`;
    case 'password.changed':
      return `${who} changed the password`;
    case 'password.reset':
      return `${target} reset the password from an emailed link`;
    case 'password.reset_requested':
      return `A password reset link was sent to ${target}`;
    case 'email.verified':
      return `${target} verified the email address`;
    case 'email.changed':
      return `${target} changed the email address`;
    case 'session.revoked':
      return `${who} signed out a session`;
    case 'grant.revoked':
      return `${who} removed an app's access`;
    case 'user.disabled':
      return `${by} disabled the account of ${target}`;
    case 'user.enabled':
      return `${by} enabled the account of ${target}`;
    case 'user.created':
      return `The account of ${target} was created${actor ? ` by ${actor}` : ''}`;
    case 'user.signed_up':
      return `${target} signed up`;
    case 'user.invited':
      return `${target} was invited to Gatehouse`;
    case 'email.change_requested':
      return `${target} asked to change the email address (a link was sent to the new one)`;
    case 'profile.changed':
      return `${who} changed the profile`;
    case 'logout':
      return `${target} signed out${app ? ` of${app.slice(3)}` : ''}`;
    case 'invitation.accepted':
      return `${target} accepted an invitation and chose a password`;
    default:
      return `${e.event}${e.target_user_id ? ` (${target})` : ''}${actor ? ` by ${actor}` : ''}`;
  }
}

/**
 * One CSV cell (RFC 4180 quoting). A cell a spreadsheet would run as a formula (starting with = + - @, a tab or a
 * carriage return) gets a leading apostrophe: names, reasons and user agents come from people, and an export is
 * opened in Excel or LibreOffice by someone with more rights than whoever typed them.
 */
export function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s.startsWith("'") ? `"${s.replace(/"/g, '""')}"` : s;
}

export const CSV_HEADER = ['time (UTC)', 'event', 'what happened', 'by', 'member', 'app', 'ip'];

export function auditCsv(rows: AuditRow[]): string {
  const lines = [CSV_HEADER, ...rows.map((r) => [r.at, r.event, describeEvent(r), actorName(r) ?? '', targetName(r) ?? '', r.client_name ?? '', r.ip ?? ''])];
  return `${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
