import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createServices } from '../../src/container.ts';
import { createDb } from '../../src/db/database.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { runGatehouse } from '../helpers/cli.ts';
import { passwordSignIn } from '../helpers/password-sign-in.ts';

const databaseUrl = await createTestDatabase({ after }, { empty: true });
const db = createDb(databaseUrl, { max: 2 });
after(() => db.destroy());
const gatehouse = (args: string[], stdin = '') => runGatehouse(databaseUrl, args, stdin);

async function json(args: string[], stdin?: string) {
  const r = await gatehouse([...args, '--json'], stdin);
  assert.equal(r.code, 0, `gatehouse ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// the commands after `migrate` touch different tables, so they run side by side
describe('gatehouse CLI', { concurrency: 3 }, () => {
  before(async () => {
    const { results } = await json(['migrate']);
    assert.ok(results.length > 0);
    for (const r of results) assert.deepEqual([r.direction, r.status], ['Up', 'Success']);
  });

  test('user disable / enable: an operator switch, audited; an unknown address exits 1', async () => {
    await json(['user', 'create', '--email', 'switch@example.com']);
    const off = await json(['user', 'disable', '--email', 'switch@example.com']);
    assert.equal(off.disabled, true);
    const row = await db.selectFrom('users').select(['disabled_at', 'credential_epoch']).where('email', '=', 'switch@example.com').executeTakeFirstOrThrow();
    assert.ok(row.disabled_at);
    assert.equal(row.credential_epoch, 1, 'disabling moves the credential epoch');
    assert.equal((await json(['user', 'enable', '--email', 'switch@example.com'])).disabled, false);
    const unknown = await gatehouse(['user', 'disable', '--email', 'nobody@example.com']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No user with the address/);
  });

  test('user create reads the password from stdin; a duplicate email exits 1', async () => {
    const password = 'correct horse battery staple';
    const created = await json(['user', 'create', '--email', 'cli@example.com', '--name', 'Cli User', '--password-stdin'], `${password}\n`);
    assert.equal(created.email, 'cli@example.com');
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    const services = createServices(testConfig({ DATABASE_URL: databaseUrl }), db);
    assert.equal((await passwordSignIn(services.users, 'cli@example.com', password))?.id, created.id);

    const dup = await gatehouse(['user', 'create', '--email', 'CLI@example.com', '--password-stdin'], password);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
  });

  test('client create prints the secret once and stores only its SHA-256; --public has none; unknown --grant-type exits 2', async () => {
    const [confidential, pub, bad] = await Promise.all([
      json(['client', 'create', '--name', 'App', '--redirect-uri', 'https://app.example.com/cb']),
      json(['client', 'create', '--name', 'SPA', '--redirect-uri', 'https://spa.example.com/cb', '--public']),
      gatehouse(['client', 'create', '--name', 'Bad', '--redirect-uri', 'https://bad.example.com/cb', '--grant-type', 'password']),
    ]);

    assert.match(confidential.client_id, /^gh_/);
    assert.ok(confidential.client_secret.length >= 32);
    const row = await db.selectFrom('oidc_clients').selectAll().where('client_id', '=', confidential.client_id).executeTakeFirstOrThrow();
    assert.equal(row.secret_sha256, createHash('sha256').update(confidential.client_secret).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(confidential.client_secret), 'the secret appears nowhere in the row');

    assert.match(pub.client_id, /^gh_/);
    assert.equal(pub.client_secret, undefined);
    const pubRow = await db.selectFrom('oidc_clients').selectAll().where('client_id', '=', pub.client_id).executeTakeFirstOrThrow();
    assert.equal(pubRow.secret_sha256, null);
    assert.equal(pubRow.metadata.token_endpoint_auth_method, 'none');

    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown --grant-type "password"/);
    assert.equal(await db.selectFrom('oidc_clients').select('client_id').where('name', '=', 'Bad').executeTakeFirst(), undefined);
  });

  test('keys list shows an active ES256 and RS256 key; keys rotate publishes new ones that sign only after the publish delay', async () => {
    type Key = { kid: string; alg: string; active: boolean };
    const active = (keys: Key[], field: 'alg' | 'kid') => keys.filter((k) => k.active).map((k) => k[field]).sort();
    const first: Key[] = (await json(['keys', 'list'])).keys;
    assert.deepEqual(active(first, 'alg'), ['ES256', 'RS256']);
    assert.equal(first.length, 2);

    const { kids } = await json(['keys', 'rotate']);
    assert.equal(kids.length, 2);
    const second: (Key & { state: string })[] = (await json(['keys', 'list'])).keys;
    const byKid = new Map(second.map((k) => [k.kid, k]));
    // two-phase: the old keys still sign while the new ones are published, until the publish delay is over
    for (const k of first) assert.equal(byKid.get(k.kid)?.state, 'signing', `${k.alg} ${k.kid} still signs`);
    for (const kid of kids) assert.equal(byKid.get(kid)?.state, 'pending', `${kid} is published, not signing yet`);
    assert.deepEqual(active(second, 'kid'), first.map((k) => k.kid).sort());
  });

  test('help, user --help and user create --help print the right usage (exit 0); a group without its command exits 2', async () => {
    const [help, group, one, bare] = await Promise.all([gatehouse(['help']), gatehouse(['user', '--help']), gatehouse(['user', 'create', '--help']), gatehouse(['tenant'])]);
    assert.equal(help.code, 0);
    for (const c of ['user create', 'user reset-2fa', 'client rotate-secret', 'tenant remove-member', 'keys rotate', 'migrate']) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'), c);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /^Usage: gatehouse user <command>/);
    assert.match(group.stdout, /gatehouse user set-password --email E/);
    assert.doesNotMatch(group.stdout, /client create/);
    assert.equal(one.code, 0);
    assert.match(one.stdout, /^Usage: gatehouse user create --email E \[--name N\] \[--password-stdin\] \[--email-verified\] \[--json\]/);
    assert.match(one.stdout, /--email-verified +you vouch for the address/);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /"gatehouse tenant" needs a command: list, show, create/);
  });

  test('unknown commands suggest the nearest one, unknown flags are named, stray words refused: exit 2', async () => {
    const [noun, verb, flag, missing, stray] = await Promise.all([
      gatehouse(['usr', 'list']),
      gatehouse(['user', 'creat', '--email', 'x@example.com']),
      gatehouse(['user', 'create', '--emial', 'x@example.com']),
      gatehouse(['user', 'create', '--email']),
      gatehouse(['user', 'list', 'everyone']),
    ]);
    for (const r of [noun, verb, flag, missing, stray]) assert.equal(r.code, 2, r.stderr);
    assert.match(noun.stderr, /unknown command "usr"\. Did you mean "user"\?/);
    assert.match(verb.stderr, /unknown command "user creat"\. Did you mean "user create"\?/);
    assert.match(flag.stderr, /unknown flag --emial for "gatehouse user create"\. Did you mean --email\?/);
    assert.match(missing.stderr, /--email needs a value/);
    assert.match(stray.stderr, /unexpected "everyone"/);
  });

  test('redirect-uris-validated-like-a-provider: client create refuses localhost:8080/callback and https://example.com/* with a clear message (exit 1)', async () => {
    const [noScheme, wildcard, native] = await Promise.all([
      gatehouse(['client', 'create', '--name', 'NoScheme', '--redirect-uri', 'localhost:8080/callback']),
      gatehouse(['client', 'create', '--name', 'Wild', '--redirect-uri', 'https://example.com/*']),
      json(['client', 'create', '--name', 'Native', '--public', '--redirect-uri', 'com.example.app:/callback']),
    ]);
    assert.equal(noScheme.code, 1);
    assert.match(noScheme.stderr, /Redirect URI "localhost:8080\/callback" has no scheme: write http:\/\/localhost:8080\/callback/);
    assert.equal(wildcard.code, 1);
    assert.match(wildcard.stderr, /Redirect URI "https:\/\/example\.com\/\*" has a wildcard: register every exact URI/);
    assert.equal(native.metadata.application_type, 'native', 'a private-use scheme makes it a native app for the provider');
    const stored = await db.selectFrom('oidc_clients').select('name').where('name', 'in', ['NoScheme', 'Wild']).execute();
    assert.deepEqual(stored, []);
  });

  test('the CLI warns when its issuer differs from a running server\'s, so that invitation links are right', async () => {
    const other = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ issuer: `http://127.0.0.1:${(other.address() as { port: number }).port}` })));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const issuer = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
      await db.insertInto('server_starts').values({ issuer }).execute();
      const r = await gatehouse(['user', 'invite', '--email', 'invitee@example.com']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`Warning: a server is running at ${issuer}, but this command uses http://localhost:3000`));
      assert.match(r.stderr, new RegExp(`GATEHOUSE_ISSUER=${issuer}`));
      // the mail itself, shown readably: recipient, subject, link
      assert.match(r.stderr, /To: +invitee@example\.com\n +Subject: You are invited to Gatehouse\n +Link: +http:\/\/localhost:3000\/invite\?token=/);
    } finally {
      other.close();
    }
  });
});
