// A user's language: chosen with the switcher in the page footer, used for their pages on any browser and their mail.
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { ValidationError } from '../errors.ts';
import { isUuid } from '../ids.ts';
import { normalizeEmail } from './user.repository.ts';

/** every language with a complete catalogue; the first is the default */
export const SUPPORTED_LOCALES = ['en', 'de'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (SUPPORTED_LOCALES as readonly string[]).includes(value);
}

export async function setUserLocale(db: Db, userId: string, locale: string): Promise<void> {
  if (!isLocale(locale)) throw new ValidationError('invalid_locale', 'This language is not available.');
  if (!isUuid(userId)) return;
  await db.updateTable('users').set({ locale, updated_at: sql`now()` }).where('id', '=', userId).execute();
}

export async function userLocale(db: Db, userId: string): Promise<Locale | null> {
  if (!isUuid(userId)) return null;
  const row = await db.selectFrom('users').select('locale').where('id', '=', userId).executeTakeFirst();
  return isLocale(row?.locale) ? row.locale : null;
}

/** the language mail to this address is written in: its account's choice, else the default */
export async function recipientLocale(db: Db, email: string): Promise<Locale> {
  const row = await db.selectFrom('users').select('locale').where('email_normalized', '=', normalizeEmail(email)).executeTakeFirst();
  return isLocale(row?.locale) ? row.locale : DEFAULT_LOCALE;
}
