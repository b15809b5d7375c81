// Every statement of the hot paths uses indexes on a populated database: 20,000 users in 2,000 organizations,
// 20,000 live provider rows and guess counters, statistics fresh (ANALYZE), the planner left to choose freely. The
// statements are the real ones: captured from the pg client while a sign-in, a code redemption, userinfo, a refresh
// and a client_credentials grant run against a real server, then each is EXPLAINed with its own parameters; a second
// sign-in goes through the authenticator-code step (the transaction of the sign-in, the code's one-statement use).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn, HttpBrowser } from '../helpers/http-browser.ts';
import { authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor, enrollTotp } from '../helpers/totp.ts';

const USERS = 20_000;
const TENANTS = 2_000;
/** tables that grow with users, sign-ins and tokens: never read by a sequential scan on the hot paths */
const LARGE = ['users', 'tenant_members', 'tenants', 'oidc_payloads', 'throttles', 'authn_transactions', 'totp_credentials', 'webauthn_credentials', 'recovery_codes', 'upstream_links', 'audit_events', 'email_outbox', 'personal_tokens'];

interface Captured {
  text: string;
  values: unknown[];
}

function capture() {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const seen = new Map<string, Captured>();
  proto.query = function query(this: unknown, ...args: unknown[]) {
    const [q, values] = args as [string | { text?: string; values?: unknown[] }, unknown[] | undefined];
    const text = typeof q === 'string' ? q : q?.text;
    if (text && /^\s*(select|update|delete|with|insert)/i.test(text)) seen.set(text, { text, values: (Array.isArray(values) ? values : (q as { values?: unknown[] }).values) ?? [] });
    return original.apply(this, args);
  };
  return { stop: () => void (proto.query = original), statements: () => [...seen.values()] };
}

type PlanNode = { 'Node Type': string; 'Relation Name'?: string; Plans?: PlanNode[] };
function seqScans(node: PlanNode, out: string[] = []): string[] {
  if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] && LARGE.includes(node['Relation Name'])) out.push(node['Relation Name']);
  for (const p of node.Plans ?? []) seqScans(p, out);
  return out;
}

test('hot-path-queries-use-indexes: no sequential scan of a large table in any statement of sign-in (with and without an authenticator code), token, userinfo and refresh', async (t) => {
  const s = await startServer(t);
  const db = s.services.db;
  // the population: users, organizations (some requiring 2FA), one membership each, live tokens and sessions, counters
  await sql`INSERT INTO users (email, email_normalized, name) SELECT 'u' || i || '@bulk.example', 'u' || i || '@bulk.example', 'U' || i FROM generate_series(1, ${USERS}) i`.execute(db);
  await sql`INSERT INTO tenants (slug, name, require_2fa) SELECT 'org-' || i, 'Org ' || i, i % 10 = 0 FROM generate_series(1, ${TENANTS}) i`.execute(db);
  await sql`INSERT INTO tenant_members (tenant_id, user_id, role, accepted_at)
    SELECT t.id, u.id, 'member', now() FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) u
    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM tenants) t ON t.k = u.n % ${TENANTS}`.execute(db);
  await sql`INSERT INTO oidc_payloads (model, id, payload, grant_id, uid, expires_at, account_id, credential_epoch)
    SELECT CASE WHEN i % 2 = 0 THEN 'Session' ELSE 'AccessToken' END, md5(i::text), '{}'::jsonb, 'g' || (i / 3), 'uid' || i, now() + interval '1 hour', u.id, 0
    FROM generate_series(1, ${USERS}) i JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) u ON u.n = i`.execute(db);
  await sql`INSERT INTO throttles (key, failures, updated_at) SELECT 'pwd:u' || i || '@bulk.example', 1, now() FROM generate_series(1, ${USERS}) i`.execute(db);
  const everyNth = (n: number) => sql`(SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM users) x WHERE k % ${n} = 0)`;
  await sql`INSERT INTO totp_credentials (user_id, name, secret_sealed, confirmed_at) SELECT id, 'Phone', 'sealed', now() FROM ${everyNth(5)} u`.execute(db);
  await sql`INSERT INTO webauthn_credentials (user_id, name, credential_id, public_key, aaguid, backup_eligible, backed_up, confirmed_at)
    SELECT id, 'Key', md5(id::text), 'pk', '00000000-0000-0000-0000-000000000000', false, false, now() FROM ${everyNth(10)} u`.execute(db);
  await sql`INSERT INTO authn_transactions (uid, user_id, password_at, state, expires_at, epoch)
    SELECT 'authn-' || md5(id::text), id, now(), 'second_factor', now() + interval '10 minutes', 0 FROM ${everyNth(4)} u`.execute(db);
  await sql`INSERT INTO email_outbox (to_address, subject, text_body, html_body, sent_at, next_attempt_at)
    SELECT 'u' || i || '@bulk.example', 's', 't', 'h', CASE WHEN i % 100 = 0 THEN NULL ELSE now() END, now() + interval '1 hour' FROM generate_series(1, ${USERS}) i`.execute(db);
  await sql`ANALYZE`.execute(db);

  const user = await makeUser(s.services);
  const totpUser = await makeUser(s.services);
  const { secret } = await enrollTotp(s.services, totpUser); // spends the current step: the sign-in uses the next one
  const client = await makeClient(s.services);
  const machine = await s.services.clients.create({ name: 'Worker', grantTypes: ['client_credentials'] });
  const config = await discover(s.issuer, client);
  const machineConfig = await discover(s.issuer, { clientId: machine.clientId, clientSecret: machine.clientSecret! });

  const rec = capture();
  try {
    const req = await authorizationRequest(config, client.redirectUri, { scope: 'openid email profile offline_access', prompt: 'consent' });
    const r = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, { email: user.email, password: user.password });
    assert.ok(r.callbackUrl, 'signed in');
    const tokens = await redeem(config, req, r.callbackUrl!);
    await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.refresh_token, 'rotated');
    await oidc.clientCredentialsGrant(machineConfig, { scope: 'api' });

    const browser = new HttpBrowser();
    const req2 = await authorizationRequest(config, client.redirectUri);
    const login = await browser.get(req2.url);
    const form = formOn(login, '/login');
    const codePage = await browser.follow(await browser.request(form.action, { form: { ...form.fields, email: totpUser.email, password: totpUser.password } }));
    assert.match(codePage.url, /\/totp$/, 'the second user is asked for a code');
    const codeForm = formOn(codePage, '/totp');
    const next = new Date(s.services.clock.now().getTime() + 30_000);
    const atCallback = (u: string) => u.startsWith(client.redirectUri);
    let done = await browser.follow(await browser.request(codeForm.action, { form: { ...codeForm.fields, code: codeFor(secret, next) } }), atCallback);
    if (done.body.includes('/consent"')) {
      const consent = formOn(done, '/consent');
      done = await browser.follow(await browser.request(consent.action, { form: consent.fields }), atCallback);
    }
    assert.ok(done.url.startsWith(client.redirectUri), `signed in with a code: ${done.url}`);
    await redeem(config, req2, done.url);
  } finally {
    rec.stop();
  }

  const statements = rec.statements();
  assert.ok(statements.length > 15, `captured the flow's statements (${statements.length})`);
  const client2 = new pg.Client({ connectionString: s.databaseUrl });
  await client2.connect();
  const offenders: string[] = [];
  try {
    for (const st of statements) {
      const res = await client2.query(`EXPLAIN (FORMAT JSON) ${st.text}`, st.values as unknown[]);
      const plan = (res.rows[0] as { 'QUERY PLAN': { Plan: PlanNode }[] })['QUERY PLAN'][0]!.Plan;
      const scans = seqScans(plan);
      if (scans.length) offenders.push(`${scans.join(', ')}: ${st.text.replace(/\s+/g, ' ').slice(0, 200)}`);
    }
  } finally {
    await client2.end(); // before the server's teardown drops the database
  }
  assert.deepEqual(offenders, [], `statements reading a large table sequentially:\n${offenders.join('\n')}`);
});
