import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/db/database.ts';

/** every row of every table of ours, as text: what a stolen copy of the database holds */
export async function dumpDatabase(db: Kysely<Database>): Promise<string> {
  const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`.execute(db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`SELECT row_to_json(t)::text AS row FROM ${sql.table(table_name)} t`.execute(db);
    parts.push(...rows.rows.map((r) => r.row));
  }
  return parts.join('\n');
}
