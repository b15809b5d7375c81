// A user's sign-in sessions and app authorizations, read from the provider's storage table (ours), and their
// revocation. Rows of oidc-provider models carry payload.accountId.
import { sql, type Kysely } from 'kysely';
import type { Database, Db } from '../../db/database.ts';
import { epochIsCurrent } from './credential-epoch.ts';
import { sqlNow, type Clock } from '../clock.ts';

export interface SessionInfo {
  id: string;
  signedInAt: Date | null;
  expiresAt: Date | null;
  /** when it was last used (session-activity.ts), or its sign-in when it has not been used since */
  lastActiveAt: Date | null;
  amr: string[];
  apps: string[];
}

/** an app with access: one entry per app, however many grants (browsers) it holds */
export interface AppGrant {
  clientId: string;
  clientName: string;
  scope: string;
}

export async function listSessions(db: Db, clock: Clock, userId: string): Promise<SessionInfo[]> {
  const rows = await db
    .selectFrom('oidc_payloads')
    .select(['id', 'payload', 'expires_at', 'last_active_at'])
    .where('model', '=', 'Session')
    .where('account_id', '=', userId)
    .where(epochIsCurrent('account_id', 'credential_epoch'))
    .where('expires_at', '>', sqlNow(clock))
    .execute();
  return rows
    .map((r) => {
      const p = r.payload as { loginTs?: number; amr?: string[]; authorizations?: Record<string, unknown> };
      const signedInAt = p.loginTs ? new Date(p.loginTs * 1000) : null;
      return {
        id: r.id,
        signedInAt,
        expiresAt: r.expires_at ? new Date(r.expires_at) : null,
        lastActiveAt: r.last_active_at ? new Date(r.last_active_at) : signedInAt,
        amr: p.amr ?? [],
        apps: Object.keys(p.authorizations ?? {}),
      };
    })
    .sort((a, b) => (b.signedInAt?.getTime() ?? 0) - (a.signedInAt?.getTime() ?? 0));
}

/** every session of the user but `keepId` (this browser), in one statement; how many ended */
export async function revokeOtherSessions(db: Db, userId: string, keepId: string): Promise<number> {
  const res = await db.deleteFrom('oidc_payloads').where('model', '=', 'Session').where('account_id', '=', userId).where('id', '!=', keepId).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/**
 * Where each session signed in from: the browser and address recorded with its completed sign-in (login.completed,
 * matched on the login time the session carries, in seconds). A session from before that event existed has none.
 */
export async function sessionOrigins(db: Db, userId: string, loginTimes: number[]): Promise<Map<number, { userAgent: string | null; ip: string | null }>> {
  if (!loginTimes.length) return new Map();
  const rows = await db
    .selectFrom('audit_events')
    .select(['user_agent', 'ip', sql<string>`data->>'ts'`.as('ts')])
    .where('event', '=', 'login.completed')
    .where('target_user_id', '=', userId)
    .where(sql`data->>'ts'`, 'in', loginTimes.map(String))
    .orderBy('id')
    .execute();
  // two sign-ins of one person in the same second cannot be told apart: neither gets a device rather than a wrong one
  const seen = new Map<number, number>();
  for (const r of rows) seen.set(Number(r.ts), (seen.get(Number(r.ts)) ?? 0) + 1);
  return new Map(rows.filter((r) => seen.get(Number(r.ts)) === 1).map((r) => [Number(r.ts), { userAgent: r.user_agent, ip: r.ip }]));
}

/** the names of the apps a session signed in to (client ids without a row keep their id) */
export async function appNames(db: Db, clientIds: string[]): Promise<Map<string, string>> {
  if (!clientIds.length) return new Map();
  const rows = await db.selectFrom('oidc_clients').select(['client_id', 'name']).where('client_id', 'in', clientIds).execute();
  return new Map(rows.map((r) => [r.client_id, r.name]));
}

export async function revokeSession(db: Db, userId: string, sessionId: string): Promise<boolean> {
  const res = await db.deleteFrom('oidc_payloads').where('model', '=', 'Session').where('id', '=', sessionId).where('account_id', '=', userId).executeTakeFirst();
  return Number(res.numDeletedRows) === 1;
}

export async function listGrants(db: Kysely<Database>, clock: Clock, userId: string): Promise<AppGrant[]> {
  const rows = await db
    .selectFrom('oidc_payloads as p')
    .leftJoin('oidc_clients as c', (j) => j.on(sql`c.client_id`, '=', sql`p.payload->>'clientId'`))
    .select(['p.id', 'p.payload', 'c.name'])
    .where('p.model', '=', 'Grant')
    .where('p.account_id', '=', userId)
    .where(epochIsCurrent('p.account_id', 'p.credential_epoch'))
    .where('p.expires_at', '>', sqlNow(clock))
    .where(sql`p.payload->>'clientId'`, '!=', 'gatehouse-account')
    .execute();
  const byClient = new Map<string, AppGrant>();
  for (const r of rows) {
    const p = r.payload as { clientId: string; openid?: { scope?: string } };
    const seen = byClient.get(p.clientId);
    const scopes = new Set([...(seen?.scope.split(' ') ?? []), ...(p.openid?.scope ?? '').split(' ')].filter(Boolean));
    byClient.set(p.clientId, { clientId: p.clientId, clientName: r.name ?? p.clientId, scope: [...scopes].join(' ') });
  }
  return [...byClient.values()].sort((a, b) => a.clientName.localeCompare(b.clientName));
}

/** every authorization of the user for one app, and every token issued under them */
export async function revokeApp(db: Db, userId: string, clientId: string): Promise<boolean> {
  const grants = await db
    .selectFrom('oidc_payloads')
    .select('id')
    .where('model', '=', 'Grant')
    .where('account_id', '=', userId)
    .where(sql`payload->>'clientId'`, '=', clientId)
    .execute();
  if (!grants.length) return false;
  const ids = grants.map((g) => g.id);
  await db.deleteFrom('oidc_payloads').where((eb) => eb.or([eb('grant_id', 'in', ids), eb.and([eb('model', '=', 'Grant'), eb('id', 'in', ids)])])).execute();
  return true;
}
