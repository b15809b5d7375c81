// RFC 6238 TOTP: 30-second steps, 6 digits, SHA-1, one step of drift either way (decision D3). Each step is accepted
// at most once per credential, enforced by a conditional UPDATE on last_used_step.
import { generateSecret, generateURI, verifySync } from 'otplib';
import { sql, type Compilable, type Kysely, type QueryCreator, type RawBuilder } from 'kysely';
import type { Database, Db } from '../../db/database.ts';
import type { Clock } from '../clock.ts';
import type { SecretBox } from '../crypto/secret-box.ts';

export const PERIOD = 30;
/** seconds of tolerance either way: exactly one step before and one after the current one */
export const DRIFT_SECONDS = 30;

export interface TotpDevice {
  id: string;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface PendingEnrollment {
  credentialId: string;
  secret: string;
  uri: string;
}

export interface ActiveAuthenticator {
  id: string;
  secret_sealed: string;
}

/** a write made with a spent step, in its statement, when `spent` holds (throttle.service.ts successWithin) */
export type AlsoWhenSpent = (qb: QueryCreator<Database>, spent: RawBuilder<boolean>) => Compilable<unknown>;

/**
 * The writes that go with a spent step, in its statement: each a data-modifying CTE under its name, in order (a later
 * one may read an earlier one as a table of that name), each made only when `spent` holds. `returning`: the name of
 * the CTE whose row the check hands back (`along`, as JSON; none when it wrote nothing).
 */
export interface WithSpent {
  writes: [name: string, write: AlsoWhenSpent][];
  returning?: string;
}

export type TotpCheck = { ok: true; credentialId: string; along?: unknown } | { ok: false; replay: boolean };

const CODE_RE = /^\d{6}$/;

export function normalizeCode(code: string): string {
  return code.replace(/[\s-]/g, '');
}

/** what a TOTP secret is sealed with: bound to its user (a copied ciphertext opens for nobody else) */
export const totpAad = (userId: string) => `totp:${userId}`;

export function createTotpService(deps: { db: Kysely<Database>; box: SecretBox; clock: Clock; issuer: string }) {
  const { db, box, clock } = deps;
  const aad = totpAad;
  const epoch = () => Math.floor(clock.now().getTime() / 1000);

  /** the user's active (confirmed) authenticators, secrets still sealed: what a code is checked against */
  async function active(userId: string): Promise<ActiveAuthenticator[]> {
    return db.selectFrom('totp_credentials').select(['id', 'secret_sealed']).where('user_id', '=', userId).where('confirmed_at', 'is not', null).execute();
  }

  /** the step a code matches on this secret, or null (otplib throws on malformed tokens: checked first) */
  function matchStep(secret: string, code: string): number | null {
    if (!CODE_RE.test(code)) return null;
    const r = verifySync({ secret, token: code, epoch: epoch(), epochTolerance: DRIFT_SECONDS, period: PERIOD });
    // timeStep: the step the code matched (current ± drift)
    return r.valid ? (r as { timeStep: number }).timeStep : null;
  }

  function uriFor(secret: string, email: string): string {
    return generateURI({ issuer: deps.issuer, label: email, secret });
  }

  return {
    /** a new 160-bit secret each time enrollment starts; earlier unfinished enrollments are dropped */
    async startEnrollment(userId: string, email: string, name: string): Promise<PendingEnrollment> {
      const secret = generateSecret({ length: 20 });
      return db.transaction().execute(async (trx) => {
        await trx.deleteFrom('totp_credentials').where('user_id', '=', userId).where('confirmed_at', 'is', null).execute();
        const row = await trx
          .insertInto('totp_credentials')
          .values({ user_id: userId, name, secret_sealed: box.seal(secret, aad(userId)) })
          .returning('id')
          .executeTakeFirstOrThrow();
        return { credentialId: row.id, secret, uri: uriFor(secret, email) };
      });
    },

    /** the pending enrollment (to show the same key again after a mistyped code); never a confirmed one */
    async pending(userId: string, credentialId: string, email: string): Promise<PendingEnrollment | null> {
      if (!/^[0-9a-f-]{36}$/i.test(credentialId)) return null;
      const row = await db
        .selectFrom('totp_credentials')
        .select(['id', 'secret_sealed'])
        .where('id', '=', credentialId)
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is', null)
        .executeTakeFirst();
      if (!row) return null;
      const secret = box.open(row.secret_sealed, aad(userId)).toString('utf8');
      return { credentialId: row.id, secret, uri: uriFor(secret, email) };
    },

    /** activates a pending credential with a code from it; the step used is recorded (it cannot be replayed) */
    async confirm(trx: Db, userId: string, credentialId: string, code: string): Promise<boolean> {
      if (!/^[0-9a-f-]{36}$/i.test(credentialId)) return false;
      const row = await trx
        .selectFrom('totp_credentials')
        .select('secret_sealed')
        .where('id', '=', credentialId)
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is', null)
        .executeTakeFirst();
      if (!row) return false;
      const step = matchStep(box.open(row.secret_sealed, aad(userId)).toString('utf8'), normalizeCode(code));
      if (step === null) return false;
      const done = await trx
        .updateTable('totp_credentials')
        .set({ confirmed_at: clock.now(), last_used_step: step, last_used_at: clock.now() })
        .where('id', '=', credentialId)
        .where('confirmed_at', 'is', null)
        .executeTakeFirst();
      return Number(done.numUpdatedRows) === 1;
    },

    active,

    /**
     * checks a code against every active authenticator of the user; a step already used is a replay. `ahead`: what
     * active() read for this check beside something else (the attempt's admission), else it is read here.
     * `withSpent`: the writes that go with the spent step, in its statement (the attempt counter's clear, the
     * sign-in's completion).
     */
    async verify(userId: string, code: string, ahead?: ActiveAuthenticator[], withSpent?: WithSpent): Promise<TotpCheck> {
      const c = normalizeCode(code);
      const rows = ahead ?? (await active(userId));
      let replay = false;
      for (const row of rows) {
        const step = matchStep(box.open(row.secret_sealed, aad(userId)).toString('utf8'), c);
        if (step === null) continue;
        const spend = (qb: QueryCreator<Database>) =>
          qb.updateTable('totp_credentials').set({ last_used_step: step, last_used_at: sql`now()` }).where('id', '=', row.id).where(sql`last_used_step`, '<', step).returning('id');
        // the step is spent only if no one spent it (or a later one) first: the atomic replay guard; what goes with it
        // is written only if it was (EXISTS spent), in the same statement
        const spent = sql<boolean>`EXISTS (SELECT 1 FROM spent)`;
        let q = db.with('spent', spend) as unknown as QueryCreator<Database>;
        for (const [name, write] of withSpent?.writes ?? []) q = q.with(name, ((qb: QueryCreator<Database>) => write(qb, spent)) as never) as unknown as QueryCreator<Database>;
        const back = withSpent?.returning;
        const won = await q
          .selectNoFrom([sql<string | null>`(SELECT id FROM spent)`.as('id'), (back ? sql<unknown>`(SELECT row_to_json(r) FROM ${sql.table(back)} r)` : sql<unknown>`NULL`).as('along')])
          .executeTakeFirstOrThrow();
        if (won.id) return { ok: true, credentialId: row.id, ...(back ? { along: won.along ?? undefined } : {}) };
        replay = true;
      }
      return { ok: false, replay };
    },

    async devices(userId: string): Promise<TotpDevice[]> {
      const rows = await db
        .selectFrom('totp_credentials')
        .select(['id', 'name', 'created_at', 'last_used_at'])
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is not', null)
        .orderBy('created_at')
        .execute();
      return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at }));
    },
  };
}

export type TotpService = ReturnType<typeof createTotpService>;
