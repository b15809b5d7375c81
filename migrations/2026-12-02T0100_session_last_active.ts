// Frozen in time: never import from src/.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // when a sign-in session was last used (an authorization, an account page), for the sessions list; stamped at
  // most every few minutes. A column of the session's own row: it goes when the session goes, and the provider's
  // writes of the row (which name their columns) leave it alone. Null: not used since it signed in.
  await db.schema.alterTable('oidc_payloads').addColumn('last_active_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('oidc_payloads').dropColumn('last_active_at').execute();
}
