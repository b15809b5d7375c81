// Indexes the purge job (src/domain/maintenance/purge.ts) finds dead rows by, so that each of its batches reads only
// what it deletes, however large the tables are.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS authn_transactions_expiry ON authn_transactions (expires_at)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS throttles_updated ON throttles (updated_at)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS email_outbox_sent ON email_outbox (sent_at) WHERE sent_at IS NOT NULL`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS federation_pending_links_expiry ON federation_pending_links (expires_at)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS challenge_sessions_expiry ON challenge_sessions (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of ['authn_transactions_expiry', 'throttles_updated', 'email_outbox_sent', 'federation_pending_links_expiry', 'challenge_sessions_expiry']) {
    await sql`DROP INDEX IF EXISTS ${sql.ref(name)}`.execute(db);
  }
}
