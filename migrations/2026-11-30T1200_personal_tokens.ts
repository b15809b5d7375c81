// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('personal_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    // only the SHA-256 of the token is kept; the token is shown once
    .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
    .addColumn('scopes', sql`text[]`, (c) => c.notNull())
    .addColumn('tenant_id', 'uuid', (c) => c.references('tenants.id').onDelete('cascade'))
    // provenance: how its creator had signed in
    .addColumn('amr', sql`text[]`, (c) => c.notNull())
    .addColumn('acr', 'text', (c) => c.notNull())
    .addColumn('auth_time', 'timestamptz', (c) => c.notNull())
    .addColumn('epoch', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('expiry_notified_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('personal_tokens_user').on('personal_tokens').column('user_id').execute();
  await db.schema.createIndex('personal_tokens_tenant').on('personal_tokens').column('tenant_id').where('tenant_id', 'is not', null).execute();
  // a terminal sign-in between its password and its second factor (the first-party authorization challenge): what the
  // first request asked for, bound to the auth_session (kept as its SHA-256, like the sign-in step it shares)
  await db.schema
    .createTable('challenge_sessions')
    .addColumn('uid', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('code_challenge', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // an organization's maximum lifetime for tokens bound to it (null: the deployment's maximum)
  await db.schema.alterTable('tenants').addColumn('token_max_days', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').dropColumn('token_max_days').execute();
  await db.schema.dropTable('personal_tokens').execute();
  await db.schema.dropTable('challenge_sessions').execute();
}
