import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load-config.ts';
import { TEST_COOKIE_KEY, TEST_ENCRYPTION_KEYS } from '../helpers/config.ts';

type Env = Record<string, string | undefined>;
// explicit secrets, so nothing is generated into the working directory
const BASE: Env = { UV_THREADPOOL_SIZE: '8', GATEHOUSE_COOKIE_KEYS: TEST_COOKIE_KEY, GATEHOUSE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function assertConfigError(env: Env, variable: string) {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => err instanceof ConfigError && err.variable === variable && err.message.includes(variable),
    `${JSON.stringify(env)} should be refused naming ${variable}`,
  );
}

test('defaults: port 3000, issuer http://localhost:PORT, ./.gatehouse resolved, development', () => {
  const c = loadConfig(BASE);
  assert.equal(c.port, 3000);
  assert.equal(c.issuer, 'http://localhost:3000');
  assert.equal(c.secure, false);
  assert.equal(c.production, false);
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.dataDir, path.resolve('.gatehouse'));
  assert.ok(path.isAbsolute(c.dataDir));
  assert.equal(c.logLevel, 'info');
  assert.deepEqual(c.argon2, { memoryCost: 19456, timeCost: 2, parallelism: 1 });
  assert.deepEqual(c.generatedSecrets, []);
  assert.ok(Object.isFrozen(c));

  assert.equal(loadConfig({ ...BASE, PORT: '4100' }).issuer, 'http://localhost:4100');
  assert.equal(loadConfig({ ...BASE, GATEHOUSE_ISSUER: 'https://sso.example.com/' }).issuer, 'https://sso.example.com');
  assert.equal(loadConfig({ ...BASE, GATEHOUSE_DATA_DIR: 'rel/dir' }).dataDir, path.resolve('rel/dir'));
});

test('invalid values throw a ConfigError naming the variable', () => {
  const cases: [string, string | undefined][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['GATEHOUSE_ISSUER', 'https://sso.example.com/auth'],
    ['GATEHOUSE_ISSUER', 'https://sso.example.com/?tenant=1'],
    ['GATEHOUSE_ISSUER', 'https://sso.example.com/#x'],
    ['GATEHOUSE_ISSUER', 'not a url'],
    ['GATEHOUSE_ISSUER', 'ftp://sso.example.com'],
    ['LOG_LEVEL', 'verbose'],
    ['UV_THREADPOOL_SIZE', '7'],
    ['UV_THREADPOOL_SIZE', undefined], // libuv's default of 4 is too small
    ['GATEHOUSE_ENCRYPTION_KEYS', 'no-colon-here'],
    ['GATEHOUSE_ENCRYPTION_KEYS', `k1:${Buffer.alloc(16).toString('base64')}`],
    ['GATEHOUSE_ENCRYPTION_KEYS', `bad id:${Buffer.alloc(32).toString('base64')}`],
    ['GATEHOUSE_ENCRYPTION_KEYS', ','],
    ['GATEHOUSE_COOKIE_KEYS', 'too-short'],
    ['DATABASE_URL', 'mysql://localhost/db'],
  ];
  for (const [variable, value] of cases) assertConfigError({ ...BASE, [variable]: value }, variable);
});

test('NODE_ENV=production refuses to start without its secrets, a database or https', (t) => {
  const dataDir = tempDir(t);
  const prod: Env = {
    ...BASE,
    NODE_ENV: 'production',
    GATEHOUSE_ISSUER: 'https://sso.example.com',
    DATABASE_URL: 'postgres://gatehouse@db.example.com/gatehouse',
    SMTP_URL: 'smtp://mail.example.com:587',
    GATEHOUSE_DATA_DIR: dataDir,
  };
  const c = loadConfig(prod);
  assert.equal(c.production, true);
  assert.equal(c.secure, true);

  for (const variable of ['GATEHOUSE_COOKIE_KEYS', 'GATEHOUSE_ENCRYPTION_KEYS', 'DATABASE_URL', 'SMTP_URL']) {
    assertConfigError({ ...prod, [variable]: undefined }, variable);
    assertConfigError({ ...prod, [variable]: '' }, variable);
  }
  assertConfigError({ ...prod, GATEHOUSE_ISSUER: 'http://sso.example.com' }, 'GATEHOUSE_ISSUER');
  assertConfigError({ ...prod, GATEHOUSE_ISSUER: undefined }, 'GATEHOUSE_ISSUER'); // the default is http
  assert.equal(existsSync(path.join(dataDir, 'secrets.json')), false, 'production never generates secrets');
});

test('development generates secrets into GATEHOUSE_DATA_DIR/secrets.json (0600), stable across loads', (t) => {
  const dataDir = path.join(tempDir(t), 'not-yet-created');
  const env: Env = { UV_THREADPOOL_SIZE: '8', GATEHOUSE_DATA_DIR: dataDir };
  const first = loadConfig(env);
  const file = path.join(dataDir, 'secrets.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual([...first.generatedSecrets].sort(), ['GATEHOUSE_COOKIE_KEYS', 'GATEHOUSE_ENCRYPTION_KEYS']);
  assert.equal(first.encryptionKeys[0]!.key.length, 32);

  const second = loadConfig(env);
  assert.deepEqual(second.cookieKeys, first.cookieKeys);
  assert.deepEqual(second.encryptionKeys, first.encryptionKeys);

  // a configured key wins over the generated one
  const partial = loadConfig({ ...env, GATEHOUSE_COOKIE_KEYS: TEST_COOKIE_KEY });
  assert.deepEqual(partial.cookieKeys, [TEST_COOKIE_KEY]);
  assert.deepEqual(partial.generatedSecrets, ['GATEHOUSE_ENCRYPTION_KEYS']);
  assert.deepEqual(partial.encryptionKeys, first.encryptionKeys);
});

test('prepared statements: on with the embedded database, off with DATABASE_URL unless asked', (t) => {
  const base = { ...BASE, GATEHOUSE_DATA_DIR: tempDir(t) };
  const url = 'postgres://u:p@db.example/gatehouse';
  assert.equal(loadConfig(base).dbPreparedStatements, true);
  assert.equal(loadConfig({ ...base, DATABASE_URL: url }).dbPreparedStatements, false);
  assert.equal(loadConfig({ ...base, DATABASE_URL: url, GATEHOUSE_DB_PREPARED_STATEMENTS: 'on' }).dbPreparedStatements, true);
  assert.equal(loadConfig({ ...base, GATEHOUSE_DB_PREPARED_STATEMENTS: 'off' }).dbPreparedStatements, false);
});
