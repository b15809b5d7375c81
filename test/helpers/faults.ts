// A fault in PostgreSQL itself, for tests of what a request leaves behind when a write of it fails.
import { sql } from 'kysely';
import type { TestServer } from './server.ts';

/** inserting a row of `model` into oidc_payloads fails with the server's "shutting down" error code; returns the undo */
export async function breakInserts(s: TestServer, model: string) {
  await sql`CREATE OR REPLACE FUNCTION gatehouse_test_fault() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'injected fault' USING ERRCODE = '57P01'; END $$`.execute(s.services.db);
  await sql`CREATE TRIGGER gatehouse_test_fault BEFORE INSERT ON oidc_payloads FOR EACH ROW WHEN (NEW.model = ${sql.lit(model)}) EXECUTE FUNCTION gatehouse_test_fault()`.execute(s.services.db);
  return () => sql`DROP TRIGGER gatehouse_test_fault ON oidc_payloads`.execute(s.services.db);
}
