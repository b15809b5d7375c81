// Indexes the purge job finds finished back-channel logout calls by (delivered, or given up), so that each of its
// batches reads only what it deletes however many calls have been made. Indexes only: nodes of the previous release
// neither read nor need them.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS backchannel_deliveries_delivered ON backchannel_deliveries (delivered_at) WHERE delivered_at IS NOT NULL`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS backchannel_deliveries_gave_up ON backchannel_deliveries (gave_up_at) WHERE gave_up_at IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS backchannel_deliveries_gave_up`.execute(db);
  await sql`DROP INDEX IF EXISTS backchannel_deliveries_delivered`.execute(db);
}
