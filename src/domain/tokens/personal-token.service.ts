// Personal access tokens: long-lived bearer tokens a user makes for scripts and automation. Each records how its
// creator had signed in (amr, acr, auth_time), so a resource server sees the same provenance as with any token.
// A token is live while: not revoked, not expired, its user's credential epoch unchanged, its organization (if
// bound to one) still counts the user as a member, and today's 2FA policy accepts its provenance.
import { isUuid } from '../ids.ts';
import { sql, type Kysely } from 'kysely';
import type { Database, Db } from '../../db/database.ts';
import { epochIsCurrent } from '../accounts/credential-epoch.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { sqlNow, type Clock } from '../clock.ts';
import { sha256Hex } from '../crypto/tokens.ts';
import type { Outbox } from '../email/outbox.ts';
import { DomainError, NotFoundError, ValidationError } from '../errors.ts';
import type { MfaPolicy } from '../mfa/mfa-policy.ts';
import type { RequestMeta, User } from '../users/user.service.ts';
import { PERSONAL_TOKEN_CLIENT } from '../clients/client.service.ts';
import { isPersonalToken, newPersonalToken } from './personal-token-format.ts';

/** the client every personal token is reported as (introspection `client_id`) */
export const PERSONAL_TOKEN_CLIENT_ID = PERSONAL_TOKEN_CLIENT;
/** scopes a personal token may carry: identity claims, organizations, and the resource scope of registered APIs */
export const PERSONAL_TOKEN_SCOPES = ['openid', 'profile', 'email', 'tenants', 'api'] as const;
export const DEFAULT_DAYS = 7;
/** a sign-in older than this must be repeated (password + second factor) before a token is made */
export const FRESH_SIGN_IN_SECONDS = 15 * 60;

export class StepUpRequiredError extends DomainError {
  constructor() {
    super('step_up_required', 'Sign in again (with your second factor) to create an access token: your sign-in must be less than 15 minutes old and meet every two-factor requirement.', 403);
  }
}

/** how the creator signed in: the session (account page) or the access token (API) they act with */
export interface Provenance {
  amr: string[];
  acr: string;
  /** seconds since the epoch */
  authTime: number;
  /** the stored row it is read from (a session, an access token): it must still be live when the token is made */
  source?: { model: 'Session' | 'AccessToken'; id: string };
}

export interface PersonalToken {
  id: string;
  name: string;
  scopes: string[];
  tenant: { id: string; slug: string; name: string } | null;
  amr: string[];
  acr: string;
  authTime: Date;
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** live now (not revoked, not expired) */
  active: boolean;
  owner?: { id: string; email: string; name: string | null };
}

/** what introspection reports for a live token */
export interface LivePersonalToken {
  userId: string;
  scopes: string[];
  tenantSlug: string | null;
  amr: string[];
  acr: string;
  authTime: number;
  issuedAt: number;
  expiresAt: number;
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

export function createPersonalTokenService(deps: { db: Kysely<Database>; clock: Clock; policy: MfaPolicy; outbox: Outbox; issuer: string; maxDays: number }) {
  const { db, clock } = deps;

  function listQuery(q: Db) {
    return q
      .selectFrom('personal_tokens as p')
      .leftJoin('tenants as t', 't.id', 'p.tenant_id')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .select(['p.id', 'p.name', 'p.scopes', 'p.amr', 'p.acr', 'p.auth_time', 'p.created_at', 'p.expires_at', 'p.last_used_at', 'p.revoked_at', 'p.tenant_id', 't.slug', 't.name as tenant_name', 'u.id as owner_id', 'u.email', 'u.name as owner_name'])
      .select(sql<boolean>`p.revoked_at IS NULL AND p.expires_at > ${sqlNow(clock)} AND ${epochIsCurrent('p.user_id', 'p.epoch')}`.as('live'))
      .orderBy('p.created_at', 'desc');
  }

  type Row = Awaited<ReturnType<ReturnType<typeof listQuery>['execute']>>[number];
  const toToken = (r: Row, withOwner = false): PersonalToken => ({
    id: r.id,
    name: r.name,
    scopes: r.scopes,
    tenant: r.tenant_id ? { id: r.tenant_id, slug: r.slug!, name: r.tenant_name! } : null,
    amr: r.amr,
    acr: r.acr,
    authTime: r.auth_time,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
    active: Boolean(r.live),
    ...(withOwner ? { owner: { id: r.owner_id, email: r.email, name: r.owner_name } } : {}),
  });

  /** the longest lifetime allowed: the deployment's maximum, lowered by the organization's */
  async function maximumDays(tenantId: string | null): Promise<number> {
    if (!tenantId) return deps.maxDays;
    const t = await db.selectFrom('tenants').select('token_max_days').where('id', '=', tenantId).executeTakeFirst();
    return Math.min(deps.maxDays, t?.token_max_days ?? deps.maxDays);
  }

  async function audit(trx: Db, event: 'personal_token.created' | 'personal_token.revoked', actor: string, target: string, tenantId: string | null, meta: RequestMeta, data: Record<string, unknown>) {
    await recordAudit(trx, { event, actorUserId: actor, targetUserId: target, tenantId, ip: meta.ip, userAgent: meta.userAgent, data });
  }

  return {
    maximumDays,

    /** a sign-in recent enough to make a token from (the page offers "sign in again" otherwise) */
    isFresh(from: Provenance): boolean {
      return seconds(clock.now()) - from.authTime <= FRESH_SIGN_IN_SECONDS;
    },

    /**
     * A new token, shown once. The sign-in it is made from must be fresh and strong enough for every 2FA
     * requirement of the user (mfa-policy decides); otherwise StepUpRequiredError.
     */
    async create(user: User, from: Provenance, input: { name: string; scopes: string[]; tenantSlug?: string | null; days?: number | null }, meta: RequestMeta): Promise<{ token: string; personalToken: PersonalToken }> {
      const age = seconds(clock.now()) - from.authTime;
      const decision = await deps.policy.decide({ userId: user.id });
      if (age > FRESH_SIGN_IN_SECONDS || age < -300 || (decision.required && !from.amr.includes('mfa'))) throw new StepUpRequiredError();
      const name = input.name.trim();
      if (!name || name.length > 100) throw new ValidationError('invalid_name', 'Give the token a name (at most 100 characters).', { key: 'invalid_token_name' });
      const scopes = [...new Set(input.scopes)];
      if (!scopes.length || scopes.some((s) => !(PERSONAL_TOKEN_SCOPES as readonly string[]).includes(s))) {
        throw new ValidationError('invalid_scope', `Choose scopes from: ${PERSONAL_TOKEN_SCOPES.join(', ')}.`, { vars: { scopes: PERSONAL_TOKEN_SCOPES.join(', ') } });
      }
      let tenantId: string | null = null;
      if (input.tenantSlug) {
        const m = await db
          .selectFrom('tenant_members as m')
          .innerJoin('tenants as t', 't.id', 'm.tenant_id')
          .select('t.id')
          .where('t.slug', '=', input.tenantSlug)
          .where('m.user_id', '=', user.id)
          .where('m.accepted_at', 'is not', null)
          .executeTakeFirst();
        if (!m) throw new ValidationError('invalid_tenant', 'You are not a member of that organization.');
        tenantId = m.id;
      }
      const max = await maximumDays(tenantId);
      const days = input.days ?? Math.min(DEFAULT_DAYS, max);
      if (!Number.isInteger(days) || days < 1 || days > max) throw new ValidationError('invalid_expiry', `The token must expire within 1 to ${max} days.`, { vars: { max } });
      const token = newPersonalToken();
      const id = await db.transaction().execute(async (trx) => {
        // the epoch the token is born in is the one its source was checked under: a credential change that commits
        // meanwhile (the owner resetting the password) waits for this transaction or makes it fail, never misses it
        const { credential_epoch: epoch } = await trx.selectFrom('users').select('credential_epoch').where('id', '=', user.id).forShare().executeTakeFirstOrThrow();
        if (from.source) {
          const live = await trx
            .selectFrom('oidc_payloads')
            .select('id')
            .where('model', '=', from.source.model)
            .where('id', '=', from.source.id)
            .where('account_id', '=', user.id)
            .where('credential_epoch', '=', epoch)
            .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
            .executeTakeFirst();
          if (!live) throw new StepUpRequiredError();
        }
        const row = await trx
          .insertInto('personal_tokens')
          .values({
            user_id: user.id,
            name,
            token_sha256: sha256Hex(token),
            scopes,
            tenant_id: tenantId,
            amr: from.amr,
            acr: from.acr,
            auth_time: new Date(from.authTime * 1000),
            epoch,
            created_at: sqlNow(clock),
            expires_at: sql`${sqlNow(clock)} + make_interval(days => ${days})`,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await audit(trx, 'personal_token.created', user.id, user.id, tenantId, meta, { tokenId: row.id, name, scopes, days, amr: from.amr });
        await deps.outbox.enqueue(trx, user.email, 'security-notice', {
          kind: 'personal_token_created',
          vars: { name, scopes: scopes.join(' '), count: days },
          title: 'personal access token created',
          message: `A personal access token named "${name}" was created for your account (scopes: ${scopes.join(' ')}; expires in ${days} day${days === 1 ? '' : 's'}). If this was not you, revoke it on your account page and change your password.`,
          name: user.name,
          email: user.email,
          at: clock.now().toISOString(),
          ip: meta.ip,
          issuer: deps.issuer,
        });
        return row.id;
      });
      const created = await listQuery(db).where('p.id', '=', id).executeTakeFirstOrThrow();
      return { token, personalToken: toToken(created) };
    },

    async list(userId: string): Promise<PersonalToken[]> {
      return (await listQuery(db).where('p.user_id', '=', userId).where('p.revoked_at', 'is', null).execute()).map((r) => toToken(r));
    },

    /** an organization's view: its members' tokens bound to it */
    async listForTenant(tenantId: string): Promise<PersonalToken[]> {
      return (await listQuery(db).where('p.tenant_id', '=', tenantId).where('p.revoked_at', 'is', null).execute()).map((r) => toToken(r, true));
    },

    /** revokes one token of the user (or, with tenantId, one bound to that organization: its admins' power) */
    async revoke(actor: User, tokenId: string, scope: { userId: string } | { tenantId: string }, meta: RequestMeta): Promise<void> {
      if (!isUuid(tokenId)) throw new NotFoundError('token_not_found', 'No such token.');
      await db.transaction().execute(async (trx) => {
        let q = trx.updateTable('personal_tokens').set({ revoked_at: sqlNow(clock) }).where('id', '=', tokenId).where('revoked_at', 'is', null);
        q = 'userId' in scope ? q.where('user_id', '=', scope.userId) : q.where('tenant_id', '=', scope.tenantId);
        const row = await q.returning(['user_id', 'tenant_id', 'name']).executeTakeFirst();
        if (!row) throw new NotFoundError('token_not_found', 'No such token.');
        await audit(trx, 'personal_token.revoked', actor.id, row.user_id, row.tenant_id, meta, { tokenId, name: row.name });
      });
    },

    /** revocation by the token's holder (the standard revocation endpoint): the same answer whether or not it existed */
    async revokeByValue(value: string): Promise<void> {
      if (!isPersonalToken(value)) return;
      await db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('personal_tokens').set({ revoked_at: sqlNow(clock) }).where('token_sha256', '=', sha256Hex(value)).where('revoked_at', 'is', null).returning(['id', 'user_id', 'tenant_id', 'name']).executeTakeFirst();
        if (row) await recordAudit(trx, { event: 'personal_token.revoked', targetUserId: row.user_id, tenantId: row.tenant_id, data: { tokenId: row.id, name: row.name, via: 'revocation_endpoint' } });
      });
    },

    async revokeAll(user: User, meta: RequestMeta): Promise<number> {
      return db.transaction().execute(async (trx) => {
        const rows = await trx.updateTable('personal_tokens').set({ revoked_at: sqlNow(clock) }).where('user_id', '=', user.id).where('revoked_at', 'is', null).returning('id').execute();
        if (rows.length) await audit(trx, 'personal_token.revoked', user.id, user.id, null, meta, { all: true, count: rows.length });
        return rows.length;
      });
    },

    /**
     * The token behind a presented value, if live (see the top of this file), with its use recorded. Anything else —
     * unknown, revoked, expired, look-alike — is simply null: callers cannot tell which.
     */
    async findLive(value: string): Promise<LivePersonalToken | null> {
      if (!isPersonalToken(value)) return null;
      const row = await db
        .updateTable('personal_tokens as p')
        .set({ last_used_at: sqlNow(clock) })
        .from('users as u')
        .whereRef('u.id', '=', 'p.user_id')
        .where('u.disabled_at', 'is', null)
        .where('p.token_sha256', '=', sha256Hex(value))
        .where('p.revoked_at', 'is', null)
        .where('p.expires_at', '>', sqlNow(clock))
        .where(epochIsCurrent('p.user_id', 'p.epoch'))
        .where((eb) =>
          eb.or([
            eb('p.tenant_id', 'is', null),
            eb.exists(eb.selectFrom('tenant_members as m').select('m.user_id').whereRef('m.tenant_id', '=', 'p.tenant_id').whereRef('m.user_id', '=', 'p.user_id').where('m.accepted_at', 'is not', null)),
          ]),
        )
        .returning(['p.user_id', 'p.scopes', 'p.amr', 'p.acr', 'p.auth_time', 'p.created_at', 'p.expires_at', 'p.tenant_id'])
        .returning((eb) => eb.selectFrom('tenants as t').select('t.slug').whereRef('t.id', '=', 'p.tenant_id').as('tenant_slug'))
        .executeTakeFirst();
      if (!row) return null;
      // an organization that began requiring 2FA after the token was made: a token without mfa provenance stops
      if (!(await deps.policy.tokenAcceptable(row.user_id, undefined, row.amr))) return null;
      return {
        userId: row.user_id,
        scopes: row.scopes,
        tenantSlug: row.tenant_slug ?? null,
        amr: row.amr,
        acr: row.acr,
        authTime: seconds(row.auth_time),
        issuedAt: seconds(row.created_at),
        expiresAt: seconds(row.expires_at),
      };
    },
  };
}

export type PersonalTokenService = ReturnType<typeof createPersonalTokenService>;
