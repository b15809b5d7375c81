// The population of the scale figure (S1), in bulk SQL: `users` users, one organization per 100 users (10,000 for a
// million), each user a member of one, every tenth organization requiring two-factor sign-in, every fifth user with
// an authenticator app, a live session for every tenth user and guess counters for every tenth address. Passwords are
// a few distinct argon2 hashes (production parameters) reused, so that a million users take minutes, not the days a
// million hashes would.
import argon2 from 'argon2';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/db/database.ts';
import { PROD_ARGON2 } from './config.ts';

const DISTINCT_PASSWORDS = 4;
/** users per organization */
export const USERS_PER_ORG = 100;
/** rows per INSERT: each a statement of its own, so progress shows and no transaction grows huge */
const CHUNK = 100_000;

export const scaleEmail = (i: number) => `scale-${i}@example.com`;
export const scalePassword = (i: number) => `bench scale password ${i % DISTINCT_PASSWORDS}`;
export const orgCount = (users: number) => Math.max(1, Math.round(users / USERS_PER_ORG));

/**
 * a user who signs in with the password alone: no authenticator app (i % 5 ≠ 0) and an organization that does not
 * require two-factor sign-in (organization i mod orgs; every tenth requires it, and orgs is a multiple of 10 or 1)
 */
export function passwordOnlyUser(users: number, random = Math.random): number {
  for (;;) {
    const i = 1 + Math.floor(random() * users);
    if (i % 5 !== 0 && (i % orgCount(users)) % 10 !== 0) return i;
  }
}

export async function seedPopulation(db: Kysely<Database>, users: number, opts: { sealedTotpSecret: string; progress: (msg: string) => void }) {
  const orgs = orgCount(users);
  const hashes = await Promise.all(Array.from({ length: DISTINCT_PASSWORDS }, (_, k) => argon2.hash(scalePassword(k), { type: argon2.argon2id, ...PROD_ARGON2 })));
  const started = Date.now();
  const step = (what: string) => opts.progress(`seed ${users.toLocaleString('en')}: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  // bulk load: a lost seed is redone, so the WAL need not be flushed per statement
  await sql`SET synchronous_commit = off`.execute(db);

  await sql`INSERT INTO tenants (slug, name, require_2fa, allowed_methods)
    SELECT 'scale-org-' || k, 'Scale organization ' || k, k % 10 = 0,
      CASE WHEN k % 10 = 0 THEN '{password,totp,webauthn}'::text[] ELSE '{password}'::text[] END
    FROM generate_series(0, ${orgs - 1}) k`.execute(db);
  step(`${orgs} organizations`);

  for (let from = 1; from <= users; from += CHUNK) {
    const to = Math.min(users, from + CHUNK - 1);
    await sql`INSERT INTO users (email, email_normalized, email_verified, name, password_hash)
      SELECT 'scale-' || i || '@example.com', 'scale-' || i || '@example.com', true, 'Scale user ' || i, (${hashes}::text[])[i % ${DISTINCT_PASSWORDS} + 1]
      FROM generate_series(${from}::int, ${to}::int) i`.execute(db);
    // member of organization i mod orgs: the join by address and slug is a hash join over the chunk
    await sql`INSERT INTO tenant_members (tenant_id, user_id, role, accepted_at)
      SELECT t.id, u.id, CASE WHEN i % ${USERS_PER_ORG} = 0 THEN 'owner' ELSE 'member' END, now()
      FROM generate_series(${from}::int, ${to}::int) i
      JOIN users u ON u.email_normalized = 'scale-' || i || '@example.com'
      JOIN tenants t ON t.slug = 'scale-org-' || (i % ${orgs})`.execute(db);
    await sql`INSERT INTO totp_credentials (user_id, name, secret_sealed, confirmed_at)
      SELECT u.id, 'Phone', ${opts.sealedTotpSecret}, now()
      FROM generate_series(${from}::int, ${to}::int) i JOIN users u ON u.email_normalized = 'scale-' || i || '@example.com'
      WHERE i % 5 = 0`.execute(db);
    // a live session for every tenth user (what a busy provider holds), guess counters for every tenth address
    await sql`INSERT INTO oidc_payloads (model, id, payload, uid, expires_at, account_id, credential_epoch)
      SELECT 'Session', 'scale-session-' || i, '{}'::jsonb, 'scale-uid-' || i, now() + interval '12 hours', u.id, 0
      FROM generate_series(${from}::int, ${to}::int) i JOIN users u ON u.email_normalized = 'scale-' || i || '@example.com'
      WHERE i % 10 = 0`.execute(db);
    await sql`INSERT INTO throttles (key, failures, updated_at)
      SELECT 'pwd:scale-' || i || '@example.com', 1, now() FROM generate_series(${from}::int, ${to}::int) i WHERE i % 10 = 1`.execute(db);
    step(`users ${to.toLocaleString('en')}/${users.toLocaleString('en')}`);
  }
  await sql`ANALYZE`.execute(db);
  step('ANALYZE done');
  return { orgs, seconds: (Date.now() - started) / 1000 };
}
