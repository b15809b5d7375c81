// The operator's changes to accounts (the CLI): list, show, update, delete, a new password, a 2FA reset. Each is
// audited with the operator as actor and, where the person should know, mailed to them like the same change made
// from the console.
import { sql, type Kysely } from 'kysely';
import type { Database, TenantRole } from '../../db/database.ts';
import { bumpCredentialEpoch } from '../accounts/credential-epoch.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { Outbox } from '../email/outbox.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { resetTwoFactor } from '../mfa/two-factor-reset.ts';
import type { PasswordHasher } from './password-hasher.ts';
import { checkPassword } from './password-policy.ts';
import { findUserRowByEmail, normalizeEmail } from './user.repository.ts';
import type { RequestMeta } from './user.service.ts';

export interface UserSummary {
  id: string;
  email: string;
  name: string | null;
  emailVerified: boolean;
  hasPassword: boolean;
  disabled: boolean;
  /** kinds of confirmed second factor: 'webauthn', 'totp' */
  factors: string[];
  createdAt: Date;
}

export interface UserDetails extends UserSummary {
  recoveryCodesLeft: number;
  organizations: { slug: string; name: string; role: TenantRole; pending: boolean }[];
  passwordChangedAt: Date | null;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function createUserAdmin(deps: { db: Kysely<Database>; hasher: PasswordHasher; outbox: Outbox; clock: Clock; issuer: string }) {
  const { db } = deps;

  const base = () =>
    db
      .selectFrom('users as u')
      .select(['u.id', 'u.email', 'u.name', 'u.email_verified', 'u.password_hash', 'u.disabled_at', 'u.created_at', 'u.password_changed_at'])
      .select((eb) => eb.exists(eb.selectFrom('totp_credentials as c').select('c.id').whereRef('c.user_id', '=', 'u.id').where('c.confirmed_at', 'is not', null)).as('totp'))
      .select((eb) => eb.exists(eb.selectFrom('webauthn_credentials as k').select('k.id').whereRef('k.user_id', '=', 'u.id').where('k.confirmed_at', 'is not', null)).as('webauthn'));
  type Row = Awaited<ReturnType<ReturnType<typeof base>['executeTakeFirstOrThrow']>>;
  const toSummary = (r: Row): UserSummary => ({
    id: r.id,
    email: r.email,
    name: r.name,
    emailVerified: r.email_verified,
    hasPassword: r.password_hash !== null,
    disabled: r.disabled_at !== null,
    factors: (['webauthn', 'totp'] as const).filter((k) => Boolean(r[k])),
    createdAt: r.created_at,
  });

  async function row(email: string): Promise<Row> {
    const r = await base().where('u.email_normalized', '=', normalizeEmail(email)).executeTakeFirst();
    if (!r) throw new NotFoundError('user_not_found', `No user with the address ${email}.`);
    return r;
  }

  const actorData = (meta: RequestMeta, data: Record<string, unknown> = {}) => (meta.actor ? { ...data, actor: meta.actor } : data);

  return {
    /** every account, or those whose address or name contains `search` */
    async list(search?: string): Promise<UserSummary[]> {
      let q = base().orderBy('u.email_normalized');
      if (search) {
        const like = `%${search.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`;
        q = q.where((eb) => eb.or([eb('u.email_normalized', 'like', like), eb(sql<string>`lower(coalesce(u.name, ''))`, 'like', like)]));
      }
      return (await q.execute()).map(toSummary);
    },

    async show(email: string): Promise<UserDetails> {
      const r = await row(email);
      const [orgs, codes] = await Promise.all([
        db.selectFrom('tenant_members as m').innerJoin('tenants as t', 't.id', 'm.tenant_id').select(['t.slug', 't.name', 'm.role', 'm.accepted_at']).where('m.user_id', '=', r.id).orderBy('t.slug').execute(),
        db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<string>().as('n')).where('user_id', '=', r.id).where('used_at', 'is', null).executeTakeFirstOrThrow(),
      ]);
      return {
        ...toSummary(r),
        recoveryCodesLeft: Number(codes.n),
        organizations: orgs.map((o) => ({ slug: o.slug, name: o.name, role: o.role, pending: o.accepted_at === null })),
        passwordChangedAt: r.password_changed_at,
      };
    },

    /**
     * Name, address and whether the operator vouches for the address. A new address is unverified unless vouched for,
     * and moving it ends every session and emailed link (they went to, or were won through, the old address).
     */
    async update(email: string, input: { name?: string; newEmail?: string; emailVerified?: boolean }, meta: RequestMeta = {}): Promise<UserSummary> {
      const current = await row(email);
      const newEmail = input.newEmail?.trim();
      if (newEmail !== undefined && (!EMAIL_RE.test(newEmail) || newEmail.length > 320)) throw new ValidationError('invalid_email', 'Enter a valid email address.');
      const moves = newEmail !== undefined && normalizeEmail(newEmail) !== normalizeEmail(current.email);
      await db.transaction().execute(async (trx) => {
        if (moves && (await findUserRowByEmail(trx, newEmail!))) throw new ConflictError('email_taken', 'A user with this email already exists.');
        await trx
          .updateTable('users')
          .set({
            ...(input.name !== undefined ? { name: input.name.trim().slice(0, 200) || null } : {}),
            ...(moves ? { email: newEmail, email_normalized: normalizeEmail(newEmail!), email_verified: input.emailVerified ?? false } : {}),
            ...(!moves && input.emailVerified !== undefined ? { email_verified: input.emailVerified } : {}),
            updated_at: sql`now()`,
          })
          .where('id', '=', current.id)
          .execute();
        if (moves) await bumpCredentialEpoch(trx, current.id);
        await recordAudit(trx, { event: 'user.updated', targetUserId: current.id, ip: meta.ip, userAgent: meta.userAgent, data: actorData(meta, { name: input.name !== undefined, newEmail: moves ? newEmail : undefined, emailVerified: input.emailVerified }) });
      });
      return toSummary(await row(moves ? newEmail! : email));
    },

    /**
     * Deletes the account: its sessions, tokens and links end first (credential epoch), then the row and everything
     * that belongs to it (factors, memberships, personal tokens, links to upstream providers: foreign-key cascades).
     * The audit log keeps its history. An organization's last owner is not deleted (it would be left without one).
     */
    async delete(email: string, meta: RequestMeta = {}): Promise<{ id: string; email: string }> {
      const current = await row(email);
      return db.transaction().execute(async (trx) => {
        const owned = await trx
          .selectFrom('tenant_members as m')
          .innerJoin('tenants as t', 't.id', 'm.tenant_id')
          .select('t.slug')
          .where('m.user_id', '=', current.id)
          .where('m.role', '=', 'owner')
          .where('m.accepted_at', 'is not', null)
          .where((eb) => eb.not(eb.exists(eb.selectFrom('tenant_members as o').select('o.user_id').whereRef('o.tenant_id', '=', 'm.tenant_id').where('o.role', '=', 'owner').where('o.accepted_at', 'is not', null).where('o.user_id', '!=', current.id))))
          .execute();
        if (owned.length) {
          const slugs = owned.map((o) => o.slug).join(', ');
          throw new ConflictError('last_owner', `${current.email} is the only owner of ${slugs}: make someone else owner first (tenant add-member ${owned[0]!.slug} --email … --role owner), or delete the organization.`);
        }
        await bumpCredentialEpoch(trx, current.id);
        await trx.deleteFrom('throttles').where('key', '=', `pwd:${normalizeEmail(current.email)}`).execute();
        await trx.deleteFrom('users').where('id', '=', current.id).execute();
        await recordAudit(trx, { event: 'user.deleted', targetUserId: current.id, ip: meta.ip, userAgent: meta.userAgent, data: actorData(meta, { email: current.email }) });
        return { id: current.id, email: current.email };
      });
    },

    /**
     * The operator sets a password (a person locked out without mail, say). Every session, token and emailed link
     * ends, the wrong-password counter is cleared, and the person is told. Factors stay: the operator does not vouch
     * for who will type the password.
     */
    async setPassword(email: string, password: string, meta: RequestMeta = {}): Promise<UserSummary> {
      const current = await row(email);
      checkPassword(password, { email: current.email, name: current.name });
      const hash = await deps.hasher.hash(password);
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ password_hash: hash, password_changed_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', current.id).execute();
        await bumpCredentialEpoch(trx, current.id);
        await trx.deleteFrom('throttles').where('key', '=', `pwd:${normalizeEmail(current.email)}`).execute();
        await recordAudit(trx, { event: 'password.set_by_operator', targetUserId: current.id, ip: meta.ip, userAgent: meta.userAgent, data: actorData(meta) });
        await deps.outbox.enqueue(trx, current.email, 'security-notice', {
          title: 'password set by the operator',
          message: 'The operator of this Gatehouse set a new password for your account, and you were signed out everywhere. If you did not ask for this, contact your administrator.',
          name: current.name,
          email: current.email,
          at: deps.clock.now().toISOString(),
          ip: meta.ip,
          issuer: deps.issuer,
        });
      });
      return toSummary(await row(email));
    },

    /** break-glass: the same reset an organization admin makes from the console, by the operator, with a reason */
    async resetTwoFactor(email: string, reason: string, meta: RequestMeta = {}): Promise<{ user: UserSummary; hadFactors: boolean }> {
      const current = await row(email);
      const hadFactors = toSummary(current).factors.length > 0;
      await db.transaction().execute(async (trx) => {
        await resetTwoFactor(trx, deps, {
          user: { id: current.id, email: current.email, name: current.name },
          reason,
          event: 'mfa.reset_by_operator',
          actorUserId: null,
          message: 'The operator of this Gatehouse reset your two-factor authentication and signed you out everywhere. If an organization you belong to requires it, you will set it up again at your next sign-in.',
          notice: { kind: 'operator_2fa_reset' },
          meta,
        });
      });
      return { user: toSummary(await row(email)), hadFactors };
    },
  };
}

export type UserAdmin = ReturnType<typeof createUserAdmin>;
