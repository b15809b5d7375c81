// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

/** the models whose ids are bearer secrets (token values, session cookies): stored as SHA-256 hex from now on */
const HASHED = ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'ClientCredentials', 'Session', 'BackchannelAuthenticationRequest', 'RegistrationAccessToken', 'InitialAccessToken'];

export async function up(db: Kysely<any>): Promise<void> {
  // the credential epoch: bumped by every credential change; whatever was born under an older epoch is dead
  await db.schema.alterTable('users').addColumn('credential_epoch', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('authn_transactions').addColumn('epoch', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('email_tokens').addColumn('epoch', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('oidc_payloads').addColumn('account_id', 'uuid').addColumn('credential_epoch', 'integer').execute();
  await sql`UPDATE oidc_payloads SET account_id = (payload->>'accountId')::uuid, credential_epoch = 0 WHERE payload->>'accountId' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`.execute(db);
  await db.schema.createIndex('oidc_payloads_account_id').on('oidc_payloads').column('account_id').where('account_id', 'is not', null).execute();
  // token values at rest become digests; rows written before keep working because the adapter hashes what it looks up
  await sql`UPDATE oidc_payloads SET id = encode(sha256(convert_to(id, 'UTF8')), 'hex'),
    user_code = CASE WHEN user_code IS NULL THEN NULL ELSE encode(sha256(convert_to(user_code, 'UTF8')), 'hex') END
    WHERE model IN (${sql.join(HASHED)})`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // digests cannot be turned back into tokens: those rows are dropped (users sign in again)
  await sql`DELETE FROM oidc_payloads WHERE model IN (${sql.join(HASHED)})`.execute(db);
  await db.schema.dropIndex('oidc_payloads_account_id').execute();
  await db.schema.alterTable('oidc_payloads').dropColumn('account_id').dropColumn('credential_epoch').execute();
  await db.schema.alterTable('email_tokens').dropColumn('epoch').execute();
  await db.schema.alterTable('authn_transactions').dropColumn('epoch').execute();
  await db.schema.alterTable('users').dropColumn('credential_epoch').execute();
}
