import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';

const admin = process.env.GATEHOUSE_TEST_PG_ADMIN;
const template = process.env.GATEHOUSE_TEST_PG_TEMPLATE;

export function adminUrl(): string {
  if (!admin || !template) throw new Error('run the tests with `npm test` (it starts PostgreSQL and sets GATEHOUSE_TEST_PG_*)');
  return admin;
}

/** one statement on the server's maintenance database (CREATE/DROP/ALTER DATABASE, pg_terminate_backend) */
export async function adminQuery(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: `${adminUrl()}/postgres` });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** a fresh database; the caller drops it (after closing every connection to it) */
export async function newDatabase(opts: { empty?: boolean } = {}): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(opts.empty ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`);
  return { url: `${adminUrl()}/${name}`, drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** a fresh database for one test file: a clone of the migrated template (or empty), dropped afterwards */
export async function createTestDatabase(t: { after(fn: () => Promise<void>): void }, opts: { empty?: boolean } = {}): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(opts.empty ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`);
  t.after(async () => {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  return `${adminUrl()}/${name}`;
}

export type { TestContext };
