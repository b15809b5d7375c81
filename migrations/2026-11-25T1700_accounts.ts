// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // single-use links sent by email: verification, password reset, invitation, email change
  await db.schema
    .createTable('email_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('token_sha256', 'text', (c) => c.notNull().unique())
    .addColumn('new_email', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('email_tokens_user').on('email_tokens').columns(['user_id', 'purpose']).execute();
  await db.schema.alterTable('users').addColumn('password_changed_at', 'timestamptz').execute();
  // sessions, grants and tokens of one account (revocation on password reset, session list)
  await sql`CREATE INDEX oidc_payloads_account ON oidc_payloads ((payload->>'accountId')) WHERE payload ? 'accountId'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX oidc_payloads_account`.execute(db);
  await db.schema.alterTable('users').dropColumn('password_changed_at').execute();
  await db.schema.dropTable('email_tokens').execute();
}
