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

export async function moveAuthnTransaction(db: Db, uid: string, state: AuthnState, amr: string[]): Promise<void> {
  await db.updateTable('authn_transactions').set({ state, amr }).where('uid', '=', uid).execute();
}

/** single use: exactly one caller gets the transaction back */
export async function takeAuthnTransaction(db: Db, uid: string): Promise<AuthnTransaction | null> {
  const row = await db.deleteFrom('authn_transactions').where('uid', '=', uid).where('expires_at', '>', sql<Date>`now()`).returningAll().executeTakeFirst();
  return row ? { uid: row.uid, userId: row.user_id, state: row.state, amr: row.amr, passwordAt: row.password_at } : null;
}
