// Audit events in words ("Ann signed in to Demo app with password + authenticator"), and the CSV export. The domain
// names each sentence and its parts as catalogue keys with values (a Phrase); the pages say it in the reader's
// language through phraseText() with their translator. Values that are names (people, apps, organizations, key
// names, reasons) stay as typed; nested phrases are translated too.
import { ACCOUNT_CLIENT_ID } from '../clients/client.service.ts';
import type { AuditRow } from './audit-log.ts';

/** a sentence to be said in some language: a catalogue key and its values */
export interface Phrase {
  key: string;
  vars?: Record<string, string | number | Phrase>;
}

/** a catalogue lookup (the http layer's translator; the domain never loads the catalogues itself) */
export type Translate = (key: string, vars?: Record<string, unknown>) => string;

const P = (key: string, vars?: Phrase['vars']): Phrase => ({ key: `audit.${key}`, vars });
/** an optional part that is absent */
const EMPTY = '';

/** a phrase in words, nested phrases first */
export function phraseText(p: Phrase, t: Translate): string {
  const vars = Object.fromEntries(Object.entries(p.vars ?? {}).map(([k, v]) => [k, typeof v === 'object' ? phraseText(v, t) : v]));
  return t(p.key, vars);
}

/** the user agent the CLI records: its actions have no signed-in actor */
export const CLI_USER_AGENT = 'gatehouse-cli';

/** how a sign-in was made, from its amr (RFC 8176 values as oidc/acr-amr.ts emits them) */
export function methodName(amr: readonly string[] | null | undefined, upstream?: string): Phrase | null {
  if (!amr?.length) return null;
  const has = (v: string) => amr.includes(v);
  const key = has('hwk') ? P('method.securityKey') : has('swk') ? P('method.passkey') : null;
  const first: string | Phrase | null = has('pwd') ? P('method.password') : has('fed') ? (upstream ?? P('method.anotherProvider')) : null;
  if (!first) return key ? (has('user') ? P('method.passkey') : P('method.withoutPin', { key })) : null;
  const second = has('otp') ? P('method.authenticator') : key ?? (has('mfa') && has('pwd') ? P('method.recoveryCode') : null);
  if (second) return P('method.both', { first, second });
  // an upstream provider whose own second factor Gatehouse trusts
  return has('fed') && has('mfa') ? P('method.withItsTwoFactor', { first }) : typeof first === 'string' ? P('method.named', { name: first }) : first;
}

const FAILURE_REASONS = ['bad_password', 'unknown_user', 'disabled'];
const ROLES = ['owner', 'admin', 'member'];
const role = (v: string | undefined): Phrase => (v && ROLES.includes(v) ? { key: `roleNoun.${v}` } : P('unknownRole'));

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** who did it: a person, the operator at the command line, or Gatehouse itself */
export function actorName(e: Pick<AuditRow, 'actor_user_id' | 'actor_name' | 'actor_email' | 'user_agent'>): string | Phrase | null {
  if (e.actor_user_id) return e.actor_name || e.actor_email || P('deletedUser');
  return e.user_agent === CLI_USER_AGENT ? P('operatorCli') : null;
}

const targetName = (e: AuditRow): string | Phrase | null => (e.target_user_id ? e.target_name || e.target_email || P('deletedUser') : null);

/** one event as a sentence */
export function describeEvent(e: AuditRow): Phrase {
  const d = e.data ?? {};
  const target = targetName(e) ?? P('someone');
  const actor = actorName(e);
  // the person the event is about when it has no separate actor (their own sign-in, their own 2FA change)
  const who = actor ?? target;
  const appName: string | Phrase | null = e.client_id === ACCOUNT_CLIENT_ID ? P('accountPage') : e.client_name;
  const app = appName ? P('toApp', { app: appName }) : EMPTY;
  const signingIn = appName ? P('signingIn', { app: appName }) : EMPTY;
  const amr = Array.isArray(d.amr) ? (d.amr as string[]) : null;
  // changes to an organization are always made by someone: with no signed-in actor, that is the operator
  const by = actor ?? P('anOperator');
  const org = e.tenant_name;
  const named = str(d.name) ? P('named', { name: str(d.name)! }) : EMPTY;
  const inOrg = (where: 'to' | 'from' | 'in' | 'of' | 'settingsOf') => (org ? P(`${where}Org`, { org }) : EMPTY);
  switch (e.event) {
    case 'login.completed':
      return P('loginCompleted', { target, app, method: methodName(amr, str(d.upstream)) ?? P('method.unknown') });
    case 'login.succeeded':
      if (d.method === 'fed') return P('loginFederated', { target, provider: str(d.upstream) ?? P('method.anotherProvider'), signingIn });
      if (d.method === 'passkey') return P('loginPasskey', { target, signingIn });
      return P('loginPassword', { target, signingIn });
    case 'login.failed': {
      const reason = str(d.reason);
      const why: string | Phrase = reason && FAILURE_REASONS.includes(reason) ? P(`failure.${reason}`) : (reason?.replace(/_/g, ' ') ?? P('failure.refused'));
      return P(e.target_user_id ? 'loginFailedAs' : 'loginFailed', { target, app, why });
    }
    case 'login.throttled':
      return P('loginThrottled', { app });
    case 'login.method_refused':
      return P('methodRefused', { target, org: str(d.organization) ?? P('anOrganization') });
    case 'tenant.created':
      return P('tenantCreated', { by, org: inOrg('of') });
    case 'tenant.policy_changed': {
      const policy = d.require2fa ? (d.enforceFrom ? P('policyRequiredFrom', { date: String(d.enforceFrom).slice(0, 10) }) : P('policyRequired')) : P('policyOptional');
      return P('policyChanged', { by, org: inOrg('settingsOf'), policy });
    }
    case 'tenant.member_added':
      return P(d.resent ? 'memberReinvited' : d.pending ? 'memberInvited' : 'memberAdded', { by, target, org: inOrg('to'), role: role(str(d.role)) });
    case 'tenant.member_joined':
      return P('memberJoined', { target, org: org ? P('orgName', { org }) : EMPTY });
    case 'tenant.role_changed':
      return P('roleChanged', { by, target, org: inOrg('in'), from: role(str(d.from)), to: role(str(d.to)) });
    case 'tenant.member_removed':
      return P('memberRemoved', { by, target, org: inOrg('from') });
    case 'tenant.member_2fa_reset':
      return P('member2faReset', { by, target, reason: str(d.reason) ? P('reason', { reason: str(d.reason)! }) : EMPTY });
    case 'tenant.token_policy_changed':
      return P('tokenPolicyChanged', { by });
    case 'totp.enabled':
      return P('totpEnabled', { who, forTarget: actor && e.target_user_id && e.target_user_id !== e.actor_user_id ? P('forTarget', { target }) : EMPTY });
    case 'totp.disabled':
      return P('totpDisabled', { who });
    case 'totp.device_added':
      return P('deviceAdded', { who, named });
    case 'totp.device_removed':
      return P('deviceRemoved', { who, named });
    case 'totp.replay':
      return P('totpReplay', { target });
    case 'recovery_code.used':
      return P('recoveryUsed', { who });
    case 'recovery_codes.regenerated':
      return P('recoveryRegenerated', { who });
    case 'recovery_codes.viewed':
      return P('recoveryViewed', { who });
    case 'webauthn.added':
      return P('keyAdded', { who, named });
    case 'webauthn.removed':
      return P('keyRemoved', { who, named });
    case 'webauthn.failed':
      return P('keyFailed', { target });
    case 'webauthn.sign_count_regression':
      return P('keyCounter', { target });
    case 'mfa.throttled':
      return P('mfaThrottled', { target });
    case 'personal_token.created':
      return P('tokenCreated', { who, named });
    case 'personal_token.revoked':
      return P('tokenRevoked', { who, named });
    case 'password.changed':
      return P('passwordChanged', { who });
    case 'password.reset':
      return P('passwordReset', { target });
    case 'password.reset_requested':
      return P('passwordResetRequested', { target });
    case 'email.verified':
      return P('emailVerified', { target });
    case 'email.changed':
      return P('emailChanged', { target });
    case 'session.revoked':
      return P('sessionRevoked', { who });
    case 'grant.revoked':
      return P('grantRevoked', { who });
    case 'user.disabled':
      return P('userDisabled', { by, target });
    case 'user.enabled':
      return P('userEnabled', { by, target });
    case 'user.created':
      return P(actor ? 'userCreatedBy' : 'userCreated', { target, actor: actor ?? '' });
    case 'user.signed_up':
      return P('userSignedUp', { target });
    case 'user.invited':
      return P('userInvited', { target });
    case 'email.change_requested':
      return P('emailChangeRequested', { target });
    case 'profile.changed':
      return P('profileChanged', { who });
    case 'logout':
      return P('logout', { target, app: appName ? P('ofApp', { app: appName }) : EMPTY });
    case 'invitation.accepted':
      return P('invitationAccepted', { target });
    default:
      return P('other', { event: e.event, target: e.target_user_id ? P('otherTarget', { target }) : EMPTY, actor: actor ? P('otherActor', { actor }) : EMPTY });
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

/** the export: headers fixed (scripts read them), the sentences and names in the language of `t` */
export function auditCsv(rows: AuditRow[], t: Translate): string {
  const say = (v: string | Phrase | null) => (v === null ? '' : typeof v === 'string' ? v : phraseText(v, t));
  const lines = [CSV_HEADER, ...rows.map((r) => [r.at, r.event, say(describeEvent(r)), say(actorName(r)), say(targetName(r)), r.client_name ?? '', r.ip ?? ''])];
  return `${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
