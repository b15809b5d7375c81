// Links between upstream identities and local users, keyed by (issuer, subject) and never by email: an upstream
// email change does not move a link. Making or removing a link is a credential change (bumpCredentialEpoch in its
// transaction). An existing account is linked only after its own sign-in (password + its second factor) completed in
// the same interaction, under the epoch the link was proposed in.
import { isUuid } from '../ids.ts';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../db/database.ts';
import { bumpCredentialEpoch, epochIsCurrent } from '../accounts/credential-epoch.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { sqlNow, type Clock } from '../clock.ts';
import { ConflictError, DomainError, NotFoundError } from '../errors.ts';
import { normalizeEmail } from '../users/user.repository.ts';
import type { AuthenticatedUser, RequestMeta, UserService } from '../users/user.service.ts';
import type { UpstreamIdentity } from './upstream.service.ts';

export interface LinkedProvider {
  id: string;
  upstreamName: string;
  displayName: string;
  email: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface PendingLink {
  userId: string;
  email: string;
  upstreamId: string;
  displayName: string;
}


/**
 * Whether an upstream proposed a link to this sign-in (live or not: signInCompleted decides), as a column of another
 * statement: the password step reads it with the account's row (sign-in-facts.ts), a later step with the sign-in's
 * transaction (authn-transaction.ts). A proposal made after that read, in the same instant, is not taken by that
 * sign-in: the account then stays unlinked, the safe side.
 */
export const linkProposedFlag = (uid: RawBuilder<string>) => sql<boolean>`EXISTS (SELECT 1 FROM federation_pending_links WHERE uid = ${uid})`;

export function createLinkService(deps: { db: Kysely<Database>; clock: Clock; ttlSeconds: number; users: Pick<UserService, 'verifyPassword'> }) {
  const { db, clock } = deps;

  async function userRow(where: { id: string } | { email: string }) {
    let q = db.selectFrom('users').select(['id', 'email', 'email_verified', 'name', 'credential_epoch', 'disabled_at', 'password_hash']);
    q = 'id' in where ? q.where('id', '=', where.id) : q.where('email_normalized', '=', normalizeEmail(where.email));
    return q.executeTakeFirst();
  }
  const toAuthenticated = (r: NonNullable<Awaited<ReturnType<typeof userRow>>>): AuthenticatedUser => ({ id: r.id, email: r.email, emailVerified: r.email_verified, name: r.name, credentialEpoch: r.credential_epoch });

  return {
    /** the local user an upstream identity is linked to; disabled users are nobody */
    async linkedUser(identity: Pick<UpstreamIdentity, 'issuer' | 'subject'>): Promise<{ user: AuthenticatedUser; linkId: string } | null> {
      const link = await db.selectFrom('upstream_links').select(['id', 'user_id']).where('issuer', '=', identity.issuer).where('subject', '=', identity.subject).executeTakeFirst();
      if (!link) return null;
      const row = await userRow({ id: link.user_id });
      if (!row || row.disabled_at) return null;
      await db.updateTable('upstream_links').set({ last_used_at: clock.now() }).where('id', '=', link.id).execute();
      return { user: toAuthenticated(row), linkId: link.id };
    },

    /** the account that holds this address, if any (disabled ones included: they are never linked or replaced) */
    async accountWithEmail(email: string): Promise<(AuthenticatedUser & { disabled: boolean }) | null> {
      const row = await userRow({ email });
      return row ? { ...toAuthenticated(row), disabled: Boolean(row.disabled_at) } : null;
    },

    /** first sign-in with an address nobody holds: a new account (email verified by the upstream), linked */
    async createLinkedAccount(upstreamId: string, identity: UpstreamIdentity & { email: string }, meta: RequestMeta): Promise<AuthenticatedUser | null> {
      return db.transaction().execute(async (trx) => {
        const user = await trx
          .insertInto('users')
          .values({ email: identity.email, email_normalized: normalizeEmail(identity.email), email_verified: true, name: identity.name?.slice(0, 200) || null, password_hash: null })
          .onConflict((oc) => oc.column('email_normalized').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!user) return null; // someone took the address meanwhile: the caller treats it as an existing account
        const link = await trx
          .insertInto('upstream_links')
          .values({ user_id: user.id, upstream_id: upstreamId, issuer: identity.issuer, subject: identity.subject, email: identity.email, last_used_at: clock.now() })
          .onConflict((oc) => oc.columns(['issuer', 'subject']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!link) throw new ConflictError('already_linked', 'This identity is already linked to an account.');
        await recordAudit(trx, { event: 'federation.account_created', targetUserId: user.id, ip: meta.ip, userAgent: meta.userAgent, data: { issuer: identity.issuer, subject: identity.subject } });
        return { id: user.id, email: user.email, emailVerified: true, name: user.name, credentialEpoch: user.credential_epoch };
      });
    },

    /** an existing account holds the upstream's address: the link waits for that account's own sign-in */
    async proposeLink(uid: string, user: AuthenticatedUser, upstreamId: string, identity: UpstreamIdentity & { email: string }): Promise<void> {
      const values = { uid, user_id: user.id, upstream_id: upstreamId, issuer: identity.issuer, subject: identity.subject, email: user.email, epoch: user.credentialEpoch };
      await db
        .insertInto('federation_pending_links')
        .values({ ...values, expires_at: sql<Date>`${sqlNow(clock)} + make_interval(secs => ${deps.ttlSeconds})` })
        .onConflict((oc) => oc.column('uid').doUpdateSet({ ...values, expires_at: sql<Date>`excluded.expires_at` }))
        .execute();
    },

    async pendingLink(uid: string): Promise<PendingLink | null> {
      const row = await db
        .selectFrom('federation_pending_links as p')
        .innerJoin('upstream_providers as u', 'u.id', 'p.upstream_id')
        .select(['p.user_id', 'p.email', 'p.upstream_id', 'u.display_name'])
        .where('p.uid', '=', uid)
        .where('p.expires_at', '>', sqlNow(clock))
        .where(epochIsCurrent('p.user_id', 'p.epoch'))
        .executeTakeFirst();
      return row ? { userId: row.user_id, email: row.email, upstreamId: row.upstream_id, displayName: row.display_name } : null;
    },

    /** a federated first factor, remembered for the `idp` claim once the sign-in completes */
    async noteFederatedSignIn(uid: string, userId: string, upstreamId: string, issuer: string): Promise<void> {
      await db
        .insertInto('federated_sign_ins')
        .values({ uid, user_id: userId, upstream_id: upstreamId, issuer, auth_time: null })
        .onConflict((oc) => oc.column('uid').doUpdateSet({ user_id: userId, upstream_id: upstreamId, issuer, auth_time: null }))
        .execute();
    },

    /**
     * A sign-in of this interaction completed (any door). A federated one gets its auth_time stamped (the `idp` claim);
     * a proposed link for this very user is made now, under the epoch its sign-in was made in, and the epoch moves (a
     * credential change). Returns the epoch the login result must carry, or null when the link could not be made.
     * `proposed`: false when the caller read (linkProposedFlag) that none was proposed to this sign-in: nothing to take.
     */
    async signInCompleted(uid: string, userId: string, amr: readonly string[], at: Date, epoch: number, meta: RequestMeta, proposed = true): Promise<number | null> {
      if (amr.includes('fed')) {
        await db.updateTable('federated_sign_ins').set({ auth_time: new Date(Math.floor(at.getTime() / 1000) * 1000) }).where('uid', '=', uid).where('user_id', '=', userId).execute();
      }
      const pending = proposed ? await db.deleteFrom('federation_pending_links').where('uid', '=', uid).returningAll().executeTakeFirst() : undefined;
      if (!pending || pending.user_id !== userId) return epoch;
      if (pending.epoch !== epoch || pending.expires_at <= clock.now()) return null;
      return db.transaction().execute(async (trx) => {
        const locked = await trx.selectFrom('users').select('credential_epoch').where('id', '=', userId).forUpdate().executeTakeFirst();
        if (!locked || locked.credential_epoch !== epoch) return null;
        const link = await trx
          .insertInto('upstream_links')
          .values({ user_id: userId, upstream_id: pending.upstream_id, issuer: pending.issuer, subject: pending.subject, email: pending.email, last_used_at: clock.now() })
          .onConflict((oc) => oc.columns(['issuer', 'subject']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (!link) return null;
        const next = await bumpCredentialEpoch(trx, userId);
        await recordAudit(trx, { event: 'federation.linked', actorUserId: userId, targetUserId: userId, ip: meta.ip, userAgent: meta.userAgent, data: { issuer: pending.issuer, subject: pending.subject } });
        return next;
      });
    },

    /** the issuer that vouched for a federated sign-in of this user at this auth_time (the `idp` claim) */
    async idpFor(userId: string, authTime: number): Promise<string | null> {
      if (!isUuid(userId) || !Number.isFinite(authTime)) return null;
      const row = await db
        .selectFrom('federated_sign_ins')
        .select('issuer')
        .where('user_id', '=', userId)
        .where('auth_time', '=', new Date(authTime * 1000))
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      return row?.issuer ?? null;
    },

    async list(userId: string): Promise<LinkedProvider[]> {
      const rows = await db
        .selectFrom('upstream_links as l')
        .innerJoin('upstream_providers as u', 'u.id', 'l.upstream_id')
        .select(['l.id', 'u.name', 'u.display_name', 'l.email', 'l.created_at', 'l.last_used_at'])
        .where('l.user_id', '=', userId)
        .orderBy('u.display_name')
        .execute();
      return rows.map((r) => ({ id: r.id, upstreamName: r.name, displayName: r.display_name, email: r.email, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
    },

    /** does the account have a password (the unlink page asks for it when it does) */
    async hasPassword(userId: string): Promise<boolean> {
      return Boolean((await userRow({ id: userId }))?.password_hash);
    },

    /**
     * Removes a link unless it is the account's last way to sign in (no password, no other link, no passkey): one
     * conditional DELETE decides, so two unlinks at once cannot both pass. A credential change: the epoch moves and
     * every other session ends (the caller's session survives). An account with a password confirms with it (as every
     * credential change on the account page does); an account without one has only its session to show.
     */
    async unlink(userId: string, linkId: string, password: string | undefined, meta: RequestMeta): Promise<void> {
      if (!isUuid(linkId)) throw new NotFoundError('link_not_found', 'There is no such linked provider.');
      if (Boolean((await userRow({ id: userId }))?.password_hash) && !(await deps.users.verifyPassword(userId, password ?? '', meta))) {
        throw new DomainError('invalid_password', 'Incorrect password: the provider is still linked.', 401);
      }
      await db.transaction().execute(async (trx) => {
        const removed = await trx
          .deleteFrom('upstream_links as l')
          .where('l.id', '=', linkId)
          .where('l.user_id', '=', userId)
          .where((eb) =>
            eb.or([
              eb.exists(eb.selectFrom('users as u').select('u.id').where('u.id', '=', userId).where('u.password_hash', 'is not', null)),
              eb.exists(eb.selectFrom('upstream_links as o').select('o.id').where('o.user_id', '=', userId).where('o.id', '!=', linkId)),
              eb.exists(eb.selectFrom('webauthn_credentials as k').select('k.id').where('k.user_id', '=', userId).where('k.confirmed_at', 'is not', null).where('k.discoverable', '=', true)),
            ]),
          )
          .returning(['l.issuer', 'l.subject'])
          .executeTakeFirst();
        if (!removed) {
          const exists = await trx.selectFrom('upstream_links').select('id').where('id', '=', linkId).where('user_id', '=', userId).executeTakeFirst();
          if (!exists) throw new NotFoundError('link_not_found', 'There is no such linked provider.');
          throw new ConflictError('last_sign_in_method', 'This is the only way to sign in to your account. Set a password first ("Forgot your password?" on the sign-in page sends a link), then unlink.');
        }
        await bumpCredentialEpoch(trx, userId, { sessionId: meta.sessionId ?? undefined });
        await recordAudit(trx, { event: 'federation.unlinked', actorUserId: userId, targetUserId: userId, ip: meta.ip, userAgent: meta.userAgent, data: { issuer: removed.issuer, subject: removed.subject } });
      });
    },
  };
}

export type LinkService = ReturnType<typeof createLinkService>;
