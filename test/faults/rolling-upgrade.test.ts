// Scenario 12: rolling upgrade. Nodes of the previous release keep running while the first node of the new release
// applies its migrations, so a release's migrations may only expand the schema (README, "Rolling upgrades").
//  1. mechanically: every migration after BASELINE (the previous release's last) is parsed and refused if its `up`
//     drops, renames, changes a type or adds a NOT NULL column without a default to an existing table;
//  2. live: the previous release's code (this repository's commit before the first newer migration, run as a real
//     process) keeps serving sign-in and token requests while a node of this release applies the newer migrations;
//  3. a node restarting on a schema newer than its code (a migration it does not know) starts and serves.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { createServices } from '../../src/container.ts';
import { createDb } from '../../src/db/database.ts';
import { migrationFolder } from '../../src/db/migrate.ts';
import { TEST_COOKIE_KEY, TEST_ENCRYPTION_KEYS, testConfig } from '../helpers/config.ts';
import { newDatabase } from '../helpers/db.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { freePort, startServer } from '../helpers/server.ts';
import { reportRow } from './report.ts';

/** migration names, sorted: their timestamp prefixes are ordering keys, never compared with a clock */
const migrationNames = () => readdirSync(migrationFolder).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, '')).sort();
const named = (suffix: string) => migrationNames().find((n) => n.endsWith(suffix))!;

/** the last migration of the previous release (found by its name): everything after it must be expand-only */
const BASELINE = named('_key_activation');

const CONTRACT: [RegExp, string][] = [
  [/\.(dropTable|dropColumn|renameColumn|renameTo|dropConstraint)\(/, 'drops or renames'],
  [/\bDROP\s+(TABLE|COLUMN|CONSTRAINT|VIEW|FUNCTION|TRIGGER)\b|\bRENAME\b/i, 'drops or renames (SQL)'],
  [/\.setDataType\(|ALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b/i, 'changes a column type'],
  [/\.setNotNull\(|SET\s+NOT\s+NULL/i, 'makes a column NOT NULL'],
];

/** why an `up` migration is not expand-only (empty: it is) */
export function contractSteps(source: string): string[] {
  const up = /export async function up\b([\s\S]*?)(?=export async function down\b|$)/.exec(source)?.[1] ?? source;
  const found = CONTRACT.filter(([re]) => re.test(up)).map(([, why]) => why);
  // a new NOT NULL column on an existing table without a default breaks the old code's inserts
  for (const stmt of up.split(/\bawait\b/)) {
    if (!/\.alterTable\(/.test(stmt)) continue;
    for (const col of stmt.split(/\.addColumn\(/).slice(1)) if (/notNull\(\)/.test(col) && !/defaultTo\(/.test(col)) found.push('adds a NOT NULL column without a default');
  }
  return found;
}

const newerMigrationFiles = () => migrationNames().filter((n) => n > BASELINE).map((n) => `${n}.ts`);

test('rolling-upgrade-migrations-only-expand: every migration after the previous release adds, never drops, renames or tightens', () => {
  // the checker itself: it refuses the contract steps and accepts the expand ones
  assert.deepEqual(contractSteps(`export async function up(db) { await db.schema.alterTable('users').dropColumn('name').execute(); }`), ['drops or renames']);
  assert.deepEqual(contractSteps(`export async function up(db) { await sql\`ALTER TABLE users ALTER COLUMN name SET NOT NULL\`.execute(db); }`), ['makes a column NOT NULL']);
  assert.deepEqual(contractSteps(`export async function up(db) { await db.schema.alterTable('users').addColumn('x', 'text', (c) => c.notNull()).execute(); }`), ['adds a NOT NULL column without a default']);
  assert.deepEqual(contractSteps(`export async function up(db) { await db.schema.alterTable('users').addColumn('x', 'text', (c) => c.notNull().defaultTo('')).execute(); }\nexport async function down(db) { await db.schema.alterTable('users').dropColumn('x').execute(); }`), []);
  assert.deepEqual(contractSteps(readFileSync(path.join(migrationFolder, `${named('_tenants')}.ts`), 'utf8')), [], 'new tables may have NOT NULL columns');

  const files = newerMigrationFiles();
  assert.ok(files.length >= 1, 'this release has migrations to check');
  const offenders = files.map((f) => ({ f, why: contractSteps(readFileSync(path.join(migrationFolder, f), 'utf8')) })).filter((x) => x.why.length);
  assert.deepEqual(offenders, [], 'contract steps belong in a later release');
});

test('rolling-upgrade-newer-schema-starts: a node whose code lacks the newest migration starts on that schema and serves', async (t) => {
  const first = await startServer(t);
  await first.close();
  // a migration of a release after this one, already applied by one of its nodes
  const db = createDb(first.databaseUrl, { max: 1 });
  await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('2999-01-01T0000_from_the_future', now()::text)`.execute(db);
  await db.destroy();
  const again = await startServer(t, { databaseUrl: first.databaseUrl });
  assert.equal((await fetch(`${again.issuer}/readyz`)).status, 200);
  const user = await makeUser(again.services);
  const client = await makeClient(again.services);
  const config = await discover(again.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri);
  const { callbackUrl } = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, user);
  assert.ok((await redeem(config, req, callbackUrl!)).access_token);
});

/** the commit just before the first newer migration was added (HEAD when none is committed yet) */
function previousRelease(): string | null {
  try {
    const files = newerMigrationFiles().map((f) => path.join('migrations', f));
    const touching = execFileSync('git', ['rev-list', '--reverse', 'HEAD', '--', ...files], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    return touching.length ? `${touching[0]}^` : 'HEAD';
  } catch {
    return null;
  }
}

test('rolling-upgrade-old-node-keeps-serving: a node of the previous release serves sign-in and tokens while a new node applies the newer migrations', { timeout: 180_000 }, async (t) => {
  const commit = previousRelease();
  if (!commit) return t.skip('no git history here: the previous release cannot be checked out');
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-previous-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C ${dir}`]);
  // it runs with this checkout's packages: one it imports that this release no longer does stays a devDependency
  // until the previous release moves past it (@fastify/helmet)
  symlinkSync(path.resolve('node_modules'), path.join(dir, 'node_modules'));

  const fresh = await newDatabase({ empty: true });
  t.after(() => fresh.drop());
  const port = await freePort();
  const oldIssuer = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env, NODE_ENV: 'test', DATABASE_URL: fresh.url, PORT: String(port), HOST: '127.0.0.1', GATEHOUSE_ISSUER: oldIssuer, GATEHOUSE_COOKIE_KEYS: TEST_COOKIE_KEY,
    GATEHOUSE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS, LOG_LEVEL: 'silent', GATEHOUSE_DATA_DIR: path.join(dir, 'data'), GATEHOUSE_ARGON2_MEMORY_KIB: '1024', GATEHOUSE_ARGON2_TIME_COST: '1',
  };
  // the entry was bin/start.js before it became CommonJS (bin/start.cjs)
  const entry = existsSync(path.join(dir, 'bin', 'start.cjs')) ? 'bin/start.cjs' : 'bin/start.js';
  const old = spawn(process.execPath, [entry], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let oldStderr = '';
  old.stderr.on('data', (d) => (oldStderr += d));
  t.after(async () => {
    if (old.exitCode === null) {
      old.kill('SIGTERM');
      await new Promise((r) => old.once('exit', r));
    }
  });
  const until = Date.now() + 90_000;
  for (;;) {
    const ready = await fetch(`${oldIssuer}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    assert.ok(Date.now() < until && old.exitCode === null, `the previous release's node did not start: ${oldStderr.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  // the old node migrated the database to its own latest: the baseline, without this release's migrations
  const db = createDb(fresh.url, { max: 2 });
  t.after(() => db.destroy());
  const applied = async () => (await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db)).rows.map((r) => r.name);
  assert.ok(!(await applied()).some((n) => n > BASELINE), 'the previous release does not have the newer migrations');
  const services = createServices(testConfig({ DATABASE_URL: fresh.url }), db);
  const user = await makeUser(services);
  const client = await makeClient(services);
  const config = await discover(oldIssuer, client);

  let ok = 0;
  const failures: string[] = [];
  const flow = async () => {
    try {
      const req = await authorizationRequest(config, client.redirectUri);
      const { callbackUrl } = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, user);
      assert.ok(callbackUrl, 'signed in');
      const tokens = await redeem(config, req, callbackUrl!);
      await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      ok++;
    } catch (err) {
      failures.push(String((err as Error).message ?? err).slice(0, 300));
    }
  };
  let running = true;
  const load = (async () => {
    while (running) await flow();
  })();
  await new Promise((r) => setTimeout(r, 1000));
  const beforeUpgrade = ok;
  // a node of this release starts on the same database and applies the newer migrations
  const started = Date.now();
  const fresher = await startServer(t, { databaseUrl: fresh.url });
  const upgradeSeconds = (Date.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  running = false;
  await load;
  const afterUpgrade = ok - beforeUpgrade;

  const names = await applied();
  reportRow({
    scenario: '12 rolling upgrade',
    result: failures.length === 0 && names.some((n) => n > BASELINE) ? 'pass' : 'fail',
    requests: ok + failures.length,
    successes: ok,
    fiveXx: 0,
    note: `previous release = ${commit}; ${afterUpgrade} sign-in+token+refresh flows on it during and after the new node's ${upgradeSeconds.toFixed(1)} s start-up`,
  });
  assert.deepEqual(failures, [], 'every flow on the old node succeeded');
  assert.ok(names.some((n) => n > BASELINE), 'the new node applied the newer migrations');
  assert.ok(afterUpgrade >= 1, `the old node served flows while and after the schema changed (${afterUpgrade})`);
  assert.equal((await fetch(`${oldIssuer}/readyz`)).status, 200, 'the old node still reports ready');
  assert.equal((await fetch(`${fresher.issuer}/readyz`)).status, 200);
});
