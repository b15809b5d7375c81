// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // null = invited by an organization admin, not accepted yet: such a membership confers nothing (no admin
  // power over the person, no policy, no claim) until the person accepts it from the emailed link
  await db.schema.alterTable('tenant_members').addColumn('accepted_at', 'timestamptz').execute();
  await sql`UPDATE tenant_members SET accepted_at = created_at`.execute(db);
  await db.schema.alterTable('email_tokens').addColumn('tenant_id', 'uuid', (c) => c.references('tenants.id').onDelete('cascade')).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('email_tokens').dropColumn('tenant_id').execute();
  await db.schema.alterTable('tenant_members').dropColumn('accepted_at').execute();
}
