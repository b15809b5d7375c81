// The provider's table changes fast: rows arrive by the thousand between two visits of autovacuum, so its planner
// statistics are often behind (on a new install they are missing for the first minutes). With named statements
// PostgreSQL soon plans each statement once for any values (a generic plan) and keeps that plan on the connection
// until statistics or the schema change: a plan made while the table was small still runs when it holds a thousand
// times more rows. A statement of the token endpoint must then still read only its own rows: a lookup that follows a
// key (the grant of a token, its session) must stay a lookup whatever the estimates said, never a walk of every live
// row (it was: a refresh's read ahead went from 0.3 ms to 1.3 ms as the table grew over a minute of load).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser } from '../helpers/http-browser.ts';
import { authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer } from '../helpers/server.ts';

const ROWS = 20_000;

type PlanNode = { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; 'Actual Rows'?: number; 'Actual Loops'?: number; Plans?: PlanNode[] };

/** rows that the plan's scans of the provider's table (heap or index) produced, over all their loops */
function payloadRowsRead(node: PlanNode): number {
  const own = node['Relation Name'] === 'oidc_payloads' || node['Index Name']?.startsWith('oidc_payloads') ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) : 0;
  return own + (node.Plans ?? []).reduce((n, p) => n + payloadRowsRead(p), 0);
}

test('token-reads-stay-lookups-without-statistics: with no statistics and generic plans, the reads of a sign-in, a code redemption and a refresh read only their own rows', async (t) => {
  const s = await startServer(t);
  const db = s.services.db;
  // no statistics for the test's length (autovacuum kept away): the plans are made on a nearly empty table
  await sql`ALTER TABLE oidc_payloads SET (autovacuum_enabled = false)`.execute(db);

  const user = await makeUser(s.services);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const statements = new Map<string, unknown[]>();
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  try {
    proto.query = function query(this: unknown, ...args: unknown[]) {
      const [q, values] = args as [string | { text?: string; values?: unknown[] }, unknown[] | undefined];
      const text = typeof q === 'string' ? q : q?.text;
      if (text && /^\s*(select|with)/i.test(text) && text.includes('oidc_payloads')) statements.set(text, (Array.isArray(values) ? values : (q as { values?: unknown[] }).values) ?? []);
      return original.apply(this, args);
    };
    const req = await authorizationRequest(config, client.redirectUri, { scope: 'openid email offline_access', prompt: 'consent' });
    const r = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, { email: user.email, password: user.password });
    const tokens = await redeem(config, req, r.callbackUrl!);
    await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  } finally {
    proto.query = original;
  }
  assert.ok(statements.size >= 3, `captured the reads of the provider's table (${statements.size})`);

  const client2 = new pg.Client({ connectionString: s.databaseUrl });
  await client2.connect();
  const offenders: string[] = [];
  try {
    const lit = (v: unknown) => (v === null || v === undefined ? 'NULL' : client2.escapeLiteral(v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v)));
    const reads = [...statements].map(([text, values], i) => ({ name: `token_read_${i}`, text, args: values.length ? `(${values.map(lit).join(', ')})` : '' }));
    // each statement planned once for any values while the table is small, as a pooled connection would
    await client2.query(`SET plan_cache_mode = 'force_generic_plan'`);
    for (const r of reads) {
      await client2.query(`PREPARE ${r.name} AS ${r.text}`);
      await client2.query(`EXECUTE ${r.name}${r.args}`);
    }
    // then the table grows: many live grants, tokens and sessions; no statistics, so the plans stay
    await client2.query(`INSERT INTO oidc_payloads (model, id, payload, grant_id, uid, expires_at)
      SELECT (ARRAY['Grant', 'AccessToken', 'RefreshToken', 'Session'])[i % 4 + 1], md5(i::text), '{}'::jsonb, 'g' || (i / 4), 'u' || i, now() + interval '1 hour'
      FROM generate_series(1, ${ROWS}) i`);
    for (const r of reads) {
      const res = await client2.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${r.name}${r.args}`);
      const plan = (res.rows[0] as { 'QUERY PLAN': { Plan: PlanNode }[] })['QUERY PLAN'][0]!.Plan;
      const read = payloadRowsRead(plan);
      if (read > 20) offenders.push(`${read} rows: ${r.text.replace(/\s+/g, ' ').slice(0, 160)}`);
    }
  } finally {
    await client2.end(); // before the server's teardown drops the database
  }
  assert.deepEqual(offenders, [], `reads of the provider's table that walked other rows:\n${offenders.join('\n')}`);
});
