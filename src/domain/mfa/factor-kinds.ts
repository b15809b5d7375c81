// Which kinds of second factor a user has active, as two flags a statement selects (for a user given as a value or
// as a column of the enclosing statement): the sign-in steps, the sign-in's facts and the user's claims all ask.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../db/database.ts';
import type { FactorKind } from './mfa-policy.ts';

const active = (table: 'totp_credentials' | 'webauthn_credentials', user: RawBuilder<string>) =>
  sql<boolean>`EXISTS (SELECT 1 FROM ${sql.table(table)} WHERE user_id = ${user} AND confirmed_at IS NOT NULL)`;

/** the two flags kindsOf() reads */
export const factorFlags = (user: RawBuilder<string>) => [active('webauthn_credentials', user).as('webauthn'), active('totp_credentials', user).as('totp')] as const;

/** the user's active second factors, security keys first, from the two flags (factorFlags) */
export const kindsOf = (row: { webauthn: unknown; totp: unknown }): FactorKind[] => [...(row.webauthn ? ['webauthn' as const] : []), ...(row.totp ? ['totp' as const] : [])];

/** which kinds of second factor the user has active: one statement (TwoFactorService.factorKinds) */
export async function activeFactorKinds(db: Kysely<Database>, userId: string): Promise<FactorKind[]> {
  return kindsOf(await db.selectNoFrom([...factorFlags(sql.val(userId))]).executeTakeFirstOrThrow());
}
