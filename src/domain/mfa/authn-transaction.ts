// The state of a sign-in between its password step and its end, keyed by the interaction uid (which oidc-provider
// binds to the browser with its interaction cookie). Only the step that follows the password can complete it.
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';

export type AuthnState = 'second_factor' | 'enroll' | 'recovery_codes' | 'grace';

export interface AuthnTransaction {
  uid: string;
  userId: string;
  state: AuthnState;
  /** what the sign-in will be reported as when it completes */
  amr: string[];
  passwordAt: Date;
}

export async function beginAuthnTransaction(db: Db, t: AuthnTransaction, ttlSeconds: number): Promise<void> {
  await db
    .insertInto('authn_transactions')
    .values({ uid: t.uid, user_id: t.userId, state: t.state, amr: t.amr, password_at: t.passwordAt, expires_at: sql`now() + make_interval(secs => ${ttlSeconds})` })
    .onConflict((oc) =>
      oc.column('uid').doUpdateSet((eb) => ({
        user_id: eb.ref('excluded.user_id'),
        state: eb.ref('excluded.state'),
        amr: eb.ref('excluded.amr'),
        password_at: eb.ref('excluded.password_at'),
        expires_at: eb.ref('excluded.expires_at'),
      })),
    )
    .execute();
}

export async function findAuthnTransaction(db: Db, uid: string): Promise<AuthnTransaction | null> {
  const row = await db.selectFrom('authn_transactions').selectAll().where('uid', '=', uid).where('expires_at', '>', sql<Date>`now()`).executeTakeFirst();
  return row ? { uid: row.uid, userId: row.user_id, state: row.state, amr: row.amr, passwordAt: row.password_at } : null;
}

/**
 * Moves the transaction on only if it still belongs to the same user and is still in the step the caller checked:
 * a password step for another account on the same interaction in between (a race) makes the move fail.
 */
export async function moveAuthnTransaction(db: Db, from: { uid: string; userId: string; state: AuthnState }, state: AuthnState, amr: string[]): Promise<boolean> {
  const res = await db
    .updateTable('authn_transactions')
    .set({ state, amr })
    .where('uid', '=', from.uid)
    .where('user_id', '=', from.userId)
    .where('state', '=', from.state)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** single use, and only as the user and step the caller checked: exactly one caller gets the transaction back */
export async function takeAuthnTransaction(db: Db, from: { uid: string; userId: string; state: AuthnState }): Promise<AuthnTransaction | null> {
  const row = await db
    .deleteFrom('authn_transactions')
    .where('uid', '=', from.uid)
    .where('user_id', '=', from.userId)
    .where('state', '=', from.state)
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
  return row ? { uid: row.uid, userId: row.user_id, state: row.state, amr: row.amr, passwordAt: row.password_at } : null;
}
