// `gatehouse user …` as an operator runs it (a child process; a pseudo-terminal where the command prompts).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createServices } from '../../src/container.ts';
import { createDb } from '../../src/db/database.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { runGatehouse, runGatehouseTty } from '../helpers/cli.ts';
import { makeUser } from '../helpers/factories.ts';
import { enrollTotp } from '../helpers/totp.ts';
import { passwordSignIn } from '../helpers/password-sign-in.ts';

const databaseUrl = await createTestDatabase({ after });
const db = createDb(databaseUrl, { max: 3 });
after(() => db.destroy());
const services = createServices(testConfig({ DATABASE_URL: databaseUrl }), db);
const gatehouse = (args: string[], stdin = '') => runGatehouse(databaseUrl, args, stdin);
const PASSPHRASE = 'a long operator passphrase';

async function json(args: string[], stdin?: string) {
  const r = await gatehouse([...args, '--json'], stdin);
  assert.equal(r.code, 0, `gatehouse ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** a provider row (a token) that speaks for the user, as the provider writes it */
async function fakeToken(userId: string, id: string) {
  const { credential_epoch } = await db.selectFrom('users').select('credential_epoch').where('id', '=', userId).executeTakeFirstOrThrow();
  await db.insertInto('oidc_payloads').values({ model: 'AccessToken', id, payload: JSON.stringify({ accountId: userId, clientId: 'gh_x' }), account_id: userId, credential_epoch, expires_at: new Date(Date.now() + 3600_000) }).execute();
}
const tokenExists = async (id: string) => Boolean(await db.selectFrom('oidc_payloads').select('id').where('id', '=', id).executeTakeFirst());

describe('gatehouse user', { concurrency: 3 }, () => {
  test('user create without a password says how the person gets in and that the address is unverified; --email-verified vouches for it', async () => {
    const plain = await gatehouse(['user', 'create', '--email', 'nopass@example.com']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /no password: send an invitation \(gatehouse user invite --email nopass@example\.com\)/);
    assert.match(plain.stdout, /Forgot your password\?/);
    assert.match(plain.stdout, /The address is unverified: .*a password reset removes any second factors.*--email-verified/s);
    const vouched = await gatehouse(['user', 'create', '--email', 'vouched@example.com', '--email-verified', '--password-stdin'], PASSPHRASE);
    assert.equal(vouched.code, 0, vouched.stderr);
    assert.doesNotMatch(vouched.stdout, /unverified|no password/);
    const row = await db.selectFrom('users').select('email_verified').where('email', '=', 'vouched@example.com').executeTakeFirstOrThrow();
    assert.equal(row.email_verified, true);
  });

  test('no password on stdin: --password-stdin with empty stdin exits 2 and says so, creating nothing', async () => {
    const r = await gatehouse(['user', 'create', '--email', 'empty@example.com', '--password-stdin'], '');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no password on stdin/);
    assert.equal(await db.selectFrom('users').select('id').where('email', '=', 'empty@example.com').executeTakeFirst(), undefined);
  });

  test('password-prompt-is-hidden: on a terminal --password-stdin asks twice without echo; different answers change nothing (exit 2)', async () => {
    const secret = 'typed on a terminal, never shown';
    const ok = await runGatehouseTty(databaseUrl, ['user', 'create', '--email', 'tty@example.com', '--password-stdin'], [
      { after: /Password: $/, type: `${secret}\r` },
      { after: /Password \(again\): $/, type: `${secret}\r` },
    ]);
    assert.equal(ok.code, 0, ok.output);
    assert.ok(!ok.output.includes(secret), 'the password is never echoed');
    assert.ok(await passwordSignIn(services.users, 'tty@example.com', secret));

    const differ = await runGatehouseTty(databaseUrl, ['user', 'create', '--email', 'tty2@example.com', '--password-stdin'], [
      { after: /Password: $/, type: `${secret}\r` },
      { after: /Password \(again\): $/, type: 'something else entirely\r' },
    ]);
    assert.equal(differ.code, 2, differ.output);
    assert.match(differ.output, /the two passwords differ/);
    assert.equal(await db.selectFrom('users').select('id').where('email', '=', 'tty2@example.com').executeTakeFirst(), undefined);
  });

  test('user list, show and update: aligned tables, --json, and a clear 1 for an unknown address', async () => {
    const u = await makeUser(services, { email: 'listed@example.com', name: 'Listed Person' });
    const table = await gatehouse(['user', 'list', '--search', 'listed']);
    assert.equal(table.code, 0, table.stderr);
    const [head, line] = table.stdout.trim().split('\n');
    assert.match(head!, /^EMAIL +NAME +VERIFIED +2FA +STATUS +CREATED$/);
    assert.equal(line!.indexOf('Listed Person'), head!.indexOf('NAME'), 'columns line up');
    const shown = await json(['user', 'show', '--email', 'listed@example.com']);
    assert.deepEqual([shown.id, shown.name, shown.email_verified, shown.organizations], [u.id, 'Listed Person', true, []]);
    const moved = await json(['user', 'update', '--email', 'listed@example.com', '--name', 'New Name', '--new-email', 'moved@example.com']);
    assert.deepEqual([moved.email, moved.name, moved.email_verified], ['moved@example.com', 'New Name', false]);
    const nothing = await gatehouse(['user', 'update', '--email', 'moved@example.com']);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /nothing to change/);
    const unknown = await gatehouse(['user', 'show', '--email', 'listed@example.com']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No user with the address listed@example\.com/);
  });

  test('user delete: off a terminal it needs --yes (exit 2); on one it asks; deleting ends every token and removes the account', async () => {
    const u = await makeUser(services, { email: 'gone@example.com' });
    await enrollTotp(services, u);
    await fakeToken(u.id, 'token-of-gone');
    const refused = await gatehouse(['user', 'delete', '--email', 'gone@example.com']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /add --yes to confirm/);
    const declined = await runGatehouseTty(databaseUrl, ['user', 'delete', '--email', 'gone@example.com'], [{ after: /\[y\/N\] /, type: 'n\r' }]);
    assert.equal(declined.code, 1, declined.output);
    assert.match(declined.output, /Delete gone@example\.com\?.*cannot be undone/s);
    assert.match(declined.output, /Nothing deleted/);
    assert.equal(await tokenExists('token-of-gone'), true);

    const done = await json(['user', 'delete', '--email', 'gone@example.com', '--yes']);
    assert.equal(done.deleted, true);
    assert.equal(await tokenExists('token-of-gone'), false, 'the token is gone with the account');
    assert.equal(await db.selectFrom('users').select('id').where('id', '=', u.id).executeTakeFirst(), undefined);
    assert.equal(await db.selectFrom('totp_credentials').select('id').where('user_id', '=', u.id).executeTakeFirst(), undefined, 'factors cascade');
    const audit = await db.selectFrom('audit_events').select('data').where('event', '=', 'user.deleted').where('target_user_id', '=', u.id).executeTakeFirstOrThrow();
    assert.equal(audit.data.actor, 'operator (CLI)');
  });

  test('user set-password: the new password works, every token ends, the person is mailed; a weak one exits 1', async () => {
    const u = await makeUser(services, { email: 'setpw@example.com' });
    await fakeToken(u.id, 'token-of-setpw');
    const r = await gatehouse(['user', 'set-password', '--email', 'setpw@example.com', '--password-stdin'], `${PASSPHRASE}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await passwordSignIn(services.users, 'setpw@example.com', PASSPHRASE));
    assert.equal(await tokenExists('token-of-setpw'), false);
    assert.match(r.stderr, /To: +setpw@example\.com/);
    const weak = await gatehouse(['user', 'set-password', '--email', 'setpw@example.com'], 'short');
    assert.equal(weak.code, 1);
  });

  test('user reset-2fa: break-glass audited with actor "operator (CLI)", mailed like the admin reset, mail shown readably; no --reason exits 2', async () => {
    const u = await makeUser(services, { email: 'lostphone@example.com' });
    await enrollTotp(services, u);
    const noReason = await gatehouse(['user', 'reset-2fa', '--email', 'lostphone@example.com']);
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /needs --reason/);
    const r = await gatehouse(['user', 'reset-2fa', '--email', 'lostphone@example.com', '--reason', 'lost phone, identity checked by video call']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Removed every second factor of lostphone@example\.com/);
    assert.equal((await services.twoFactor.status(u.id)).enabled, false);
    const audit = await db.selectFrom('audit_events').select(['data', 'user_agent', 'actor_user_id']).where('event', '=', 'mfa.reset_by_operator').where('target_user_id', '=', u.id).executeTakeFirstOrThrow();
    assert.deepEqual([audit.data.actor, audit.data.reason, audit.actor_user_id], ['operator (CLI)', 'lost phone, identity checked by video call', null]);
    const mail = await db.selectFrom('email_outbox').select(['subject', 'sent_at']).where('to_address', '=', 'lostphone@example.com').orderBy('id', 'desc').executeTakeFirstOrThrow();
    assert.match(mail.subject, /two-factor authentication reset/);
    assert.ok(mail.sent_at, 'sent by the CLI itself');
    // the development sink, readable: recipient and subject on their own lines, no JSON
    assert.match(r.stderr, /To: +lostphone@example\.com\n +Subject: .*two-factor authentication reset/);
    assert.doesNotMatch(r.stderr, /\{"mail"/);
  });

  test('password-reset-of-unverified-account-removes-factors: what `user create` warns about is what a reset does', async () => {
    const u = await services.users.create({ email: 'never-verified@example.com', password: 'someone else passphrase' });
    await enrollTotp(services, u);
    await services.accounts.requestPasswordReset(u.email, {});
    const { text_body } = await db.selectFrom('email_outbox').select('text_body').where('to_address', '=', u.email).orderBy('id', 'desc').executeTakeFirstOrThrow();
    await services.accounts.resetPassword(/token=([A-Za-z0-9_-]+)/.exec(text_body)![1]!, 'the mailbox owner passphrase', {});
    assert.equal((await services.twoFactor.status(u.id)).enabled, false);
  });
});
