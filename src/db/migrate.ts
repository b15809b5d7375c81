import { promises as fs } from 'node:fs';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { MIGRATION_LOCK } from './database.ts';
import { FileMigrationProvider, Migrator, type MigrationResultSet } from 'kysely/migration';

import { migrationFolder } from '../paths.ts';

export { migrationFolder };

export function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder }) });
}

function check(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${(result.error as Error).message ?? result.error}`, { cause: result.error });
  }
  return result;
}

// Every run happens inside one transaction of ours that first takes the migration lock (transaction-level, see
// database.ts), so two nodes starting together don't race — not even to create kysely's own tables — and the lock
// cannot outlive the run, even behind PgBouncer's transaction pooling. A failed migration rolls the whole run back.
// While nodes of the previous release keep serving (rolling upgrade), a run that alters several tables could wait on a
// table one of their statements holds while that statement waits on a table the run already altered: PostgreSQL would
// end the deadlock by failing the serving node's statement. The run waits at most LOCK_WAIT for any table, well under
// PostgreSQL's deadlock check (1 s), then gives way (rolling everything back) and tries again.
const LOCK_WAIT = '250ms';
const LOCK_ATTEMPTS = 40;

async function locked(db: Kysely<any>, run: (m: Migrator, trx: Kysely<any>) => Promise<MigrationResultSet>): Promise<MigrationResultSet> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK)})`.execute(trx);
        await sql`SET LOCAL lock_timeout = ${sql.lit(LOCK_WAIT)}`.execute(trx);
        return check(await run(migrator(trx), trx));
      });
    } catch (err) {
      const code = (err as { code?: string; cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
      if (code !== '55P03' || attempt >= LOCK_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    }
  }
}

/** names of migrations the database has run that this code does not have: a newer release's */
export async function newerMigrations(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ exists: boolean }>`SELECT to_regclass('kysely_migration') IS NOT NULL AS exists`.execute(db);
  if (!rows[0]?.exists) return [];
  const known = new Set(Object.keys(await new FileMigrationProvider({ fs, path, migrationFolder }).getMigrations()));
  const ran = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db);
  return ran.rows.map((r) => r.name).filter((n) => !known.has(n));
}

export function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  return locked(db, async (m, trx) => {
    // rolling upgrade (README): a node of the previous release restarting after a newer node migrated finds migrations
    // it does not know. They only expand the schema, so it starts on it as it is, provided it has nothing of its own to apply
    const newer = await newerMigrations(trx);
    if (newer.length > 0) {
      if (!(await migrationsCurrent(trx))) throw new Error(`The database has migrations this version does not know (${newer.join(', ')}) and lacks some of its own: upgrade this node`);
      return { results: [] };
    }
    return m.migrateToLatest();
  });
}

export function migrateDown(db: Kysely<any>): Promise<MigrationResultSet> {
  return locked(db, (m) => m.migrateDown());
}

/** true when every migration file has been applied */
export async function migrationsCurrent(db: Kysely<any>): Promise<boolean> {
  const all = await migrator(db).getMigrations();
  return all.every((m) => m.executedAt !== undefined);
}
