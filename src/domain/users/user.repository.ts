import { isUuid } from '../ids.ts';
import type { Kysely } from 'kysely';
import { compiledStatement } from '../../db/compiled.ts';
import type { Database, Db } from '../../db/database.ts';

export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

/** compiled once (db/compiled.ts): every password sign-in reads it */
const byEmail = compiledStatement((db: Kysely<Database>, normalized: string) => db.selectFrom('users').selectAll().where('email_normalized', '=', normalized));

export async function findUserRowByEmail(db: Db, email: string) {
  return (await byEmail(db, normalizeEmail(email))).rows[0];
}

export function findUserRowById(db: Db, id: string) {
  // ids are uuids; anything else cannot exist (and must not reach PostgreSQL as a cast error)
  if (!isUuid(id)) return Promise.resolve(undefined);
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}
