// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // security keys and passkeys (WebAuthn credentials); a row counts as a factor once it has signed in once
  await db.schema
    .createTable('webauthn_credentials')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    // the authenticator's credential id (base64url): unique across all users, so a passkey names its owner
    .addColumn('credential_id', 'text', (c) => c.notNull().unique())
    // COSE public key (base64url): public, nothing to seal
    .addColumn('public_key', 'text', (c) => c.notNull())
    // the authenticator's signature counter; a value that goes backwards is a cloned-key signal
    .addColumn('sign_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('aaguid', 'text', (c) => c.notNull())
    // backup eligible (a synced passkey) and backed up, as the authenticator last reported them
    .addColumn('backup_eligible', 'boolean', (c) => c.notNull())
    .addColumn('backed_up', 'boolean', (c) => c.notNull())
    // the credProps extension's answer at registration: a discoverable credential (passkey) or not; null = unknown
    .addColumn('discoverable', 'boolean')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // null while pending: registered, not yet used once
    .addColumn('confirmed_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('webauthn_credentials_user').on('webauthn_credentials').column('user_id').execute();

  // single-use ceremony challenges, server-side, 5 minutes; one live challenge per binding (interaction or session) and purpose
  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('binding', 'text', (c) => c.notNull())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('user_id', 'uuid', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('challenge', 'text', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webauthn_challenges_binding').on('webauthn_challenges').columns(['binding', 'purpose']).unique().execute();
  await db.schema.createIndex('webauthn_challenges_expiry').on('webauthn_challenges').column('expires_at').execute();
  await db.schema.createIndex('webauthn_challenges_user').on('webauthn_challenges').column('user_id').execute();

  // the second factors a sign-in may use, fixed by the policy at its password step
  await db.schema.alterTable('authn_transactions').addColumn('allowed_factors', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{totp,webauthn}'::text[]`)).execute();
  // an enrollment that adds an allowed kind of factor after the user proved one of their own (e.g. an app code when
  // the organization now allows security keys only): nothing is replaced, no new recovery codes
  await db.schema.alterTable('authn_transactions').addColumn('upgrade', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
  // an organization may allow only some second factors ('webauthn' alone: phishing-resistant)
  await db.schema.alterTable('tenants').addColumn('second_factors', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{totp,webauthn}'::text[]`)).execute();
  // recovery codes that can be viewed again: AES-256-GCM sealed beside the lookup hash (null when viewing is off)
  await db.schema.alterTable('recovery_codes').addColumn('code_sealed', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('recovery_codes').dropColumn('code_sealed').execute();
  await db.schema.alterTable('tenants').dropColumn('second_factors').execute();
  await db.schema.alterTable('authn_transactions').dropColumn('upgrade').dropColumn('allowed_factors').execute();
  await db.schema.dropTable('webauthn_challenges').execute();
  await db.schema.dropTable('webauthn_credentials').execute();
}
