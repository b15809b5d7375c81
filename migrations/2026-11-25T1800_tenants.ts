// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('require_2fa', 'boolean', (c) => c.notNull().defaultTo(false))
    // grace period: members may sign in without 2FA until this moment (null = enforced at once)
    .addColumn('enforce_from', 'timestamptz')
    .addColumn('allowed_methods', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{password}'::text[]`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('tenant_members')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('owner', 'admin', 'member')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // this member's own 2FA deadline during a rollout; persisted so that it never moves once shown
    .addColumn('mfa_deadline', 'timestamptz')
    .addColumn('last_sign_in_at', 'timestamptz')
    .addColumn('last_sign_in_amr', sql`text[]`)
    .addPrimaryKeyConstraint('tenant_members_pk', ['tenant_id', 'user_id'])
    .execute();
  await db.schema.createIndex('tenant_members_user').on('tenant_members').column('user_id').execute();

  await db.schema
    .alterTable('oidc_clients')
    .addColumn('tenant_id', 'uuid', (c) => c.references('tenants.id').onDelete('cascade'))
    .addColumn('require_mfa', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema.alterTable('audit_events').addColumn('tenant_id', 'uuid').execute();
  await db.schema.createIndex('audit_events_tenant').on('audit_events').columns(['tenant_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('audit_events_tenant').execute();
  await db.schema.alterTable('audit_events').dropColumn('tenant_id').execute();
  await db.schema.alterTable('oidc_clients').dropColumn('require_mfa').dropColumn('tenant_id').execute();
  await db.schema.dropTable('tenant_members').execute();
  await db.schema.dropTable('tenants').execute();
}
