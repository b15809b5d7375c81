import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createServices } from '../../src/container.ts';
import { createDb } from '../../src/db/database.ts';
import { testConfig } from '../helpers/config.ts';
import { passwordSignIn } from '../helpers/password-sign-in.ts';
import { createTestDatabase } from '../helpers/db.ts';

const PASSWORD = 'correct horse battery staple';
const databaseUrl = await createTestDatabase({ after });
const db = createDb(databaseUrl, { max: 4 });
after(() => db.destroy());
const services = createServices(testConfig({ DATABASE_URL: databaseUrl }), db);

let n = 0;
const email = () => `pw${++n}@example.com`;

async function storedHash(userId: string): Promise<string> {
  const row = await db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
  return row.password_hash!;
}

/** runs fn and returns the audit rows it wrote */
async function audited(fn: () => Promise<unknown>) {
  const last = await db.selectFrom('audit_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  await fn();
  return db.selectFrom('audit_events').selectAll().where('id', '>', last?.id ?? '0').orderBy('id').execute();
}

test('hashes are argon2id PHC strings with the configured parameters and distinct salts', async () => {
  const [a, b] = await Promise.all([services.hasher.hash(PASSWORD), services.hasher.hash(PASSWORD)]);
  for (const h of [a, b]) assert.match(h, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  assert.notEqual(a.split('$')[4], b.split('$')[4], 'distinct salts');
  assert.ok(!a.includes(PASSWORD));
  assert.equal(await services.hasher.verify(a, PASSWORD), true);
  assert.equal(await services.hasher.verify(a, `${PASSWORD}!`), false);
  assert.equal(await services.hasher.verify(null, PASSWORD), false);
});

test('authenticate: right password → user, wrong → null, unknown email → null; every outcome audited', async () => {
  const user = await services.users.create({ email: email(), name: 'Pat', password: PASSWORD });
  assert.match(await storedHash(user.id), /^\$argon2id\$v=19\$m=/);
  const meta = { ip: '203.0.113.7', userAgent: 'test-agent', clientId: 'gh_client' };

  let result: unknown;
  let rows = await audited(async () => (result = await passwordSignIn(services.users, user.email, PASSWORD, meta)));
  assert.deepEqual(result, { ...user, credentialEpoch: 0 }, 'the user, with the credential epoch the password was checked under');
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.event, 'login.succeeded');
  assert.equal(rows[0]!.target_user_id, user.id);
  assert.equal(rows[0]!.ip, '203.0.113.7');
  assert.equal(rows[0]!.user_agent, 'test-agent');
  assert.equal(rows[0]!.client_id, 'gh_client');

  rows = await audited(async () => (result = await passwordSignIn(services.users, user.email, 'wrong horse battery staple', meta)));
  assert.equal(result, null);
  assert.deepEqual(rows.map((r) => [r.event, r.target_user_id, r.data]), [['login.failed', user.id, { reason: 'bad_password' }]]);

  rows = await audited(async () => (result = await passwordSignIn(services.users, 'nobody@example.com', PASSWORD, meta)));
  assert.equal(result, null);
  assert.deepEqual(rows.map((r) => [r.event, r.target_user_id, r.data]), [['login.failed', null, { reason: 'unknown_user' }]]);

  assert.equal((await passwordSignIn(services.users, user.email.toUpperCase(), PASSWORD))?.id, user.id, 'email is case-insensitive');
});

test('raised argon2 parameters: a successful login rehashes the stored hash', async () => {
  const user = await services.users.create({ email: email(), password: PASSWORD });
  const old = await storedHash(user.id);
  assert.match(old, /\$m=1024,t=1,p=1\$/);
  const stronger = createServices(testConfig({ DATABASE_URL: databaseUrl, GATEHOUSE_ARGON2_MEMORY_KIB: '2048' }), db);

  assert.equal(await passwordSignIn(stronger.users, user.email, 'wrong horse battery staple'), null);
  assert.equal(await storedHash(user.id), old, 'a failed login never rehashes');

  assert.equal((await passwordSignIn(stronger.users, user.email, PASSWORD))?.id, user.id);
  const rehashed = await storedHash(user.id);
  assert.match(rehashed, /^\$argon2id\$v=19\$m=2048,t=1,p=1\$/);
  assert.equal(stronger.hasher.needsRehash(rehashed), false);
  assert.equal((await passwordSignIn(stronger.users, user.email, PASSWORD))?.id, user.id, 'the new hash verifies');
});

test('password length is counted in code points: 15 to 256', async () => {
  const refused = async (password: string, code: string) => {
    const address = email();
    await assert.rejects(services.users.create({ email: address, password }), { code });
    assert.equal(await db.selectFrom('users').select('id').where('email', '=', address).executeTakeFirst(), undefined, 'no user is created');
  };
  await refused('😀'.repeat(14), 'password_too_short'); // 28 UTF-16 units, 14 code points
  await refused('a'.repeat(14), 'password_too_short');
  await refused('a'.repeat(257), 'password_too_long');
  // (varied characters: one repeated symbol is refused as a pattern by the blocklist rule)
  for (const password of ['😀🙂🎉'.repeat(5), 'abc'.repeat(86).slice(0, 256), PASSWORD]) {
    const user = await services.users.create({ email: email(), password });
    assert.equal((await passwordSignIn(services.users, user.email, password))?.id, user.id);
  }
});

test('email is unique case-insensitively', async () => {
  const first = await services.users.create({ email: 'Alex.Case@Example.com', password: PASSWORD });
  assert.equal(first.email, 'Alex.Case@Example.com', 'the address is kept as typed');
  await assert.rejects(services.users.create({ email: 'alex.case@EXAMPLE.COM', password: PASSWORD }), { code: 'email_taken' });
  await assert.rejects(services.users.create({ email: '  ALEX.CASE@example.com ', password: PASSWORD }), { code: 'email_taken' });
  const rows = await db.selectFrom('users').select('id').where('email_normalized', '=', 'alex.case@example.com').execute();
  assert.equal(rows.length, 1);
});
