// Frozen in time: never import from src/.
import { sql, type Kysely } from 'kysely';

// Rows of a user are found by the account_id column (oidc_payloads_account_id) since the credential epoch; the
// older index on the payload's accountId is read by no statement and cost every token, code and session write an
// expression and an index entry.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS oidc_payloads_account`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS oidc_payloads_account ON oidc_payloads ((payload->>'accountId')) WHERE payload ? 'accountId'`.execute(db);
}
