// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // an operator's off switch for an app and for an organization (its private apps stop with it)
  await db.schema.alterTable('oidc_clients').addColumn('disabled_at', 'timestamptz').execute();
  await db.schema.alterTable('tenants').addColumn('disabled_at', 'timestamptz').execute();
  // what each server announced at start (its public URL), so that the CLI can tell when its own differs
  await db.schema
    .createTable('server_starts')
    .addColumn('issuer', 'text', (c) => c.primaryKey())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('server_starts').execute();
  await db.schema.alterTable('tenants').dropColumn('disabled_at').execute();
  await db.schema.alterTable('oidc_clients').dropColumn('disabled_at').execute();
}
