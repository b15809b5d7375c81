// Each server notes its public URL at start. The CLI compares the URL it would put in mail (its own configuration)
// with the one a server announced, so that an operator whose shell lacks GATEHOUSE_ISSUER or PORT learns it before
// sending invitation links that point nowhere.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/database.ts';

export async function recordServerStart(db: Kysely<Database>, issuer: string): Promise<void> {
  await db.insertInto('server_starts').values({ issuer }).onConflict((oc) => oc.column('issuer').doUpdateSet({ started_at: sql`now()` })).execute();
}

/** the issuer the most recently started server announced, if any */
export async function lastServerStart(db: Kysely<Database>): Promise<{ issuer: string; startedAt: Date } | null> {
  const row = await db.selectFrom('server_starts').selectAll().orderBy('started_at', 'desc').limit(1).executeTakeFirst();
  return row ? { issuer: row.issuer, startedAt: row.started_at } : null;
}
