import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { MIGRATION_LOCK } from './database.ts';
import { FileMigrationProvider, Migrator, type MigrationResultSet } from 'kysely/migration';

export const migrationFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) });
}

function check(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${(result.error as Error).message ?? result.error}`);
  }
  return result;
}

// Every run happens inside one transaction of ours that first takes the migration lock (transaction-level, see
// database.ts), so two nodes starting together don't race — not even to create kysely's own tables — and the lock
// cannot outlive the run, even behind PgBouncer's transaction pooling. A failed migration rolls the whole run back.
function locked(db: Kysely<any>, run: (m: Migrator) => Promise<MigrationResultSet>): Promise<MigrationResultSet> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK)})`.execute(trx);
    return check(await run(migrator(trx)));
  });
}

export function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  return locked(db, (m) => m.migrateToLatest());
}

export function migrateDown(db: Kysely<any>): Promise<MigrationResultSet> {
  return locked(db, (m) => m.migrateDown());
}

/** true when every migration file has been applied */
export async function migrationsCurrent(db: Kysely<any>): Promise<boolean> {
  const all = await migrator(db).getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}
