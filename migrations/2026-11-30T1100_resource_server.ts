// Frozen in time: never import from src/.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // resource servers (APIs that check the access tokens they receive) may introspect tokens of other clients;
  // every other client only its own
  await db.schema.alterTable('oidc_clients').addColumn('resource_server', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('oidc_clients').dropColumn('resource_server').execute();
}
