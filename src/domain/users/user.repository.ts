import { isUuid } from '../ids.ts';
import type { Db } from '../../db/database.ts';

export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

export function findUserRowByEmail(db: Db, email: string) {
  return db.selectFrom('users').selectAll().where('email_normalized', '=', normalizeEmail(email)).executeTakeFirst();
}

export function findUserRowById(db: Db, id: string) {
  // ids are uuids; anything else cannot exist (and must not reach PostgreSQL as a cast error)
  if (!isUuid(id)) return Promise.resolve(undefined);
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}
