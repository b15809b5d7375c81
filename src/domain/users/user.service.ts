import { isUuid } from '../ids.ts';
import { sql } from 'kysely';
import type { Expression, Kysely } from 'kysely';
import type { Database, Db } from '../../db/database.ts';
import { recordAudit, type AuditEvent } from '../audit/audit.service.ts';
import { bumpCredentialEpoch } from '../accounts/credential-epoch.ts';
import { factorFlags, kindsOf } from '../mfa/factor-kinds.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import type { PasswordHasher } from './password-hasher.ts';
import { checkPassword } from './password-policy.ts';
import { findUserRowByEmail, findUserRowById, normalizeEmail } from './user.repository.ts';
import { PER_ACCOUNT, type ThrottleService } from '../mfa/throttle.service.ts';
import { passwordThrottleKey, TooManyAttemptsError, type KnownDevice } from './password-throttle.ts';

export interface User {
  id: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
  /** the language the user chose, or null (their browser's language is used) */
  locale?: string | null;
}

export interface UserWithFactors extends User {
  twoFactorEnabled: boolean;
}

export type UserRow = NonNullable<Awaited<ReturnType<typeof findUserRowById>>>;

function toUser(row: Pick<UserRow, 'id' | 'email' | 'email_verified' | 'name' | 'locale'>): User {
  return { id: row.id, email: row.email, emailVerified: row.email_verified, name: row.name, locale: row.locale };
}

/** a users row read as JSON inside another statement (row_to_json) as the user it shows; null when absent or disabled */
export function userFromJson(row: unknown): User | null {
  const r = row as (Pick<UserRow, 'id' | 'email' | 'email_verified' | 'name' | 'locale'> & { disabled_at: unknown }) | null;
  return r && !r.disabled_at ? toUser(r) : null;
}

/**
 * The user and whether they have an active authenticator, in one query (claims on every token); the id a value or a
 * column of an enclosing statement (a refresh token's read brings the user along: oidc/payload-reads.ts).
 */
export function userWithFactorsQuery(db: Kysely<Database>, id: Expression<string | null>) {
  return db
    .selectFrom('users')
    .selectAll('users')
    .select([...factorFlags(sql.ref('users.id'))])
    .where('id', '=', id);
}

/** a row of userWithFactorsQuery (or its JSON) as the user it shows; null for a disabled user */
export function toUserWithFactors(row: Pick<UserRow, 'id' | 'email' | 'email_verified' | 'name' | 'locale'> & { disabled_at: unknown; webauthn: unknown; totp: unknown }): UserWithFactors | null {
  return row.disabled_at ? null : { ...toUser(row), twoFactorEnabled: kindsOf(row).length > 0 };
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface RequestMeta {
  ip?: string | null;
  userAgent?: string | null;
  /** the stored id of the provider session the request came with (it survives the changes it makes) */
  sessionId?: string | null;
  /** this browser's verified device cookie, if any (password-throttle.ts) */
  device?: KnownDevice | null;
  /** who acted when no signed-in user did: "operator (CLI)" (kept in the audit row's data) */
  actor?: string | null;
}

/** a user whose password was just checked, with the credential epoch it was checked under */
export interface AuthenticatedUser extends User {
  credentialEpoch: number;
}

/**
 * A right password: the user, and its writes still in flight (the audit row, a rehash). The caller goes on with its
 * next steps meanwhile and awaits `written` before it answers: a sign-in then waits once for all its writes.
 */
export interface PasswordChecked {
  user: AuthenticatedUser;
  written: Promise<void>;
  /** with `auditByCaller` and no rehash: the success's audit row, which the caller writes with its own next write */
  audit?: AuditEvent;
}

export function createUserService(deps: { db: Kysely<Database>; hasher: PasswordHasher; throttle: ThrottleService }) {
  const { db, hasher } = deps;
  return {
    async create(input: { email: string; name?: string | null; password?: string | null; emailVerified?: boolean }): Promise<User> {
      const email = input.email.trim();
      if (!EMAIL_RE.test(email) || email.length > 320) throw new ValidationError('invalid_email', 'Enter a valid email address.');
      if (input.password != null) checkPassword(input.password);
      const passwordHash = input.password != null ? await hasher.hash(input.password) : null;
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('users')
          .values({
            email,
            email_normalized: normalizeEmail(email),
            email_verified: input.emailVerified ?? false,
            name: input.name?.trim() || null,
            password_hash: passwordHash,
          })
          .onConflict((oc) => oc.column('email_normalized').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!row) throw new ConflictError('email_taken', 'A user with this email already exists.');
        await recordAudit(trx, { event: 'user.created', targetUserId: row.id });
        return toUser(row);
      });
    },

    /**
     * An operator's switch. Disabling ends everything the user had (credential epoch): sessions, tokens, sign-ins in
     * progress, email links; a disabled user cannot sign in. Enabling gives nothing back: they sign in again.
     */
    async setDisabled(email: string, disabled: boolean, meta: RequestMeta = {}): Promise<User> {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('users')
          .set({ disabled_at: disabled ? new Date() : null, updated_at: new Date() })
          .where('email_normalized', '=', normalizeEmail(email))
          .returningAll()
          .executeTakeFirst();
        if (!row) throw new NotFoundError('user_not_found', `No user with the address ${email}.`);
        if (disabled) await bumpCredentialEpoch(trx, row.id);
        await recordAudit(trx, { event: disabled ? 'user.disabled' : 'user.enabled', targetUserId: row.id, ip: meta.ip, userAgent: meta.userAgent, data: meta.actor ? { actor: meta.actor } : {} });
        return toUser(row);
      });
    },

    /** the user and whether they have an active authenticator, in one query (claims on every token) */
    async findWithFactors(id: string): Promise<UserWithFactors | null> {
      if (!isUuid(id)) return null;
      const row = await userWithFactorsQuery(db, sql.val(id)).executeTakeFirst();
      return row ? toUserWithFactors(row) : null;
    },

    async findById(id: string): Promise<User | null> {
      const row = await findUserRowById(db, id);
      return row && !row.disabled_at ? toUser(row) : null;
    },

    /**
     * Re-confirms the password of a signed-in user (sensitive changes). It counts against the same guess counter as
     * signing in (a stolen session must not become a fast password oracle); too many wrong ones → TooManyAttemptsError.
     */
    async verifyPassword(userId: string, password: string, meta: RequestMeta = {}): Promise<boolean> {
      const row = await findUserRowById(db, userId);
      const key = passwordThrottleKey(row?.email ?? userId, row, meta.device);
      const gate = await deps.throttle.attempt(key, PER_ACCOUNT);
      if (!gate.allowed) throw new TooManyAttemptsError(gate.retryAfterSeconds);
      const ok = await hasher.verify(row && !row.disabled_at ? row.password_hash : undefined, password);
      if (ok) await deps.throttle.success(key);
      return ok;
    },

    /**
     * Email + password. Unknown email, disabled user and wrong password all cost one argon2 verify and
     * return null; every outcome is audited. Rehashes when the parameters have risen.
     */
    async authenticate(email: string, password: string, meta: RequestMeta & { clientId?: string }, opts: { row?: UserRow | null; auditByCaller?: boolean } = {}): Promise<PasswordChecked | null> {
      // opts.row: the account's row when the caller read it already (null: no such account)
      const row = opts.row !== undefined ? (opts.row ?? undefined) : await findUserRowByEmail(db, email);
      const ok = await hasher.verify(row?.password_hash, password);
      const good = ok && row && !row.disabled_at ? row : undefined;
      const reason = !row ? 'unknown_user' : row.disabled_at ? 'disabled' : !ok ? 'bad_password' : undefined;
      // hash outside the transaction: never hold a connection across an argon2 run
      const rehash = good?.password_hash && hasher.needsRehash(good.password_hash) ? await hasher.hash(password) : undefined;
      const event: AuditEvent = {
        event: good ? 'login.succeeded' : 'login.failed',
        targetUserId: row?.id ?? null,
        clientId: meta.clientId ?? null,
        ip: meta.ip,
        userAgent: meta.userAgent,
        data: good ? { method: 'pwd' } : { reason },
      };
      const audit = async (trx: Db) => recordAudit(trx, event);
      // the audit row alone needs no transaction; with a rehash, both commit together
      const write = async () => {
        if (!(good && rehash)) return audit(db);
        await db.transaction().execute(async (trx) => {
          await audit(trx);
          // only over the hash that was checked: a password changed meanwhile is never put back to the old one
          await trx.updateTable('users').set({ password_hash: rehash, updated_at: new Date() }).where('id', '=', good.id).where('password_hash', '=', good.password_hash).execute();
        });
      };
      if (!good) {
        await write();
        return null;
      }
      const user = { ...toUser(good), credentialEpoch: good.credential_epoch };
      // the caller writes the row with its own next write (one statement fewer), unless a rehash commits with it
      if (opts.auditByCaller && !rehash) return { user, written: Promise.resolve(), audit: event };
      // a right password answers at once: its writes go on beside the caller's next steps (see PasswordChecked)
      const written = write();
      written.catch(() => undefined);
      return { user, written };
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
