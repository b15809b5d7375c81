// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // upstream OpenID providers, configured by the operator; `name` is the sign-in method's name in tenant policies
  await db.schema
    .createTable('upstream_providers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique().check(sql`name ~ '^[a-z0-9][a-z0-9-]{1,31}$' AND name <> 'password'`))
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    // AES-256-GCM sealed (secret box); null for a public client (PKCE only)
    .addColumn('client_secret_sealed', 'text')
    .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('openid email profile'))
    .addColumn('icon_url', 'text')
    // the trust rule, off while both lists are empty: accept the upstream's second factor when its ID token's amr
    // contains one of trust_amr, or its acr is one of trust_acr, and auth_time is at most trust_max_age seconds old
    .addColumn('trust_amr', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('trust_acr', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('trust_max_age', 'integer', (c) => c.notNull().defaultTo(300))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // an upstream identity linked to a local user: keyed by (issuer, subject), never by email
  await db.schema
    .createTable('upstream_links')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('upstream_id', 'uuid', (c) => c.notNull().references('upstream_providers.id').onDelete('cascade'))
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    // the upstream's address when the link was made (shown on the account page; never used to find the link)
    .addColumn('email', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addUniqueConstraint('upstream_links_identity', ['issuer', 'subject'])
    .execute();
  await db.schema.createIndex('upstream_links_user').on('upstream_links').column('user_id').execute();

  // an upstream authorization in flight: single use (deleted by the callback), bound to the interaction
  await db.schema
    .createTable('federation_requests')
    .addColumn('state', 'text', (c) => c.primaryKey())
    .addColumn('interaction_uid', 'text', (c) => c.notNull())
    .addColumn('upstream_id', 'uuid', (c) => c.notNull().references('upstream_providers.id').onDelete('cascade'))
    .addColumn('nonce', 'text', (c) => c.notNull())
    // the PKCE verifier, sealed
    .addColumn('verifier_sealed', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('federation_requests_expiry').on('federation_requests').column('expires_at').execute();

  // an upstream identity whose verified email belongs to an existing account: linked only after that account's own
  // sign-in (password + its second factor) completes in the same interaction, under the same credential epoch
  await db.schema
    .createTable('federation_pending_links')
    .addColumn('uid', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('upstream_id', 'uuid', (c) => c.notNull().references('upstream_providers.id').onDelete('cascade'))
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('epoch', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('federation_pending_links_user').on('federation_pending_links').column('user_id').execute();

  // federated sign-ins: which upstream vouched for the first factor (the `idp` claim), by interaction and auth_time
  await db.schema
    .createTable('federated_sign_ins')
    .addColumn('uid', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('upstream_id', 'uuid', (c) => c.references('upstream_providers.id').onDelete('set null'))
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('auth_time', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('federated_sign_ins_user_time').on('federated_sign_ins').columns(['user_id', 'auth_time']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('federated_sign_ins').execute();
  await db.schema.dropTable('federation_pending_links').execute();
  await db.schema.dropTable('federation_requests').execute();
  await db.schema.dropTable('upstream_links').execute();
  await db.schema.dropTable('upstream_providers').execute();
}
