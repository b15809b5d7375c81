// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // two-phase rotation: a new key is published at once and signs only from activates_at (after relying parties'
  // JWKS caches have seen it); retired_at may lie in the future (the moment its successor takes over)
  await db.schema.alterTable('signing_keys').addColumn('activates_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signing_keys').dropColumn('activates_at').execute();
}
