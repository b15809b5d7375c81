// `gatehouse client …` and `gatehouse tenant …` as an operator runs them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createServices } from '../../src/container.ts';
import { createDb } from '../../src/db/database.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { runGatehouse, runGatehouseTty } from '../helpers/cli.ts';
import { makeUser } from '../helpers/factories.ts';
import { daysFrom, isoDay } from '../helpers/totp.ts';

const databaseUrl = await createTestDatabase({ after });
const db = createDb(databaseUrl, { max: 3 });
after(() => db.destroy());
const services = createServices(testConfig({ DATABASE_URL: databaseUrl }), db);
const gatehouse = (args: string[], stdin = '') => runGatehouse(databaseUrl, args, stdin);

async function json(args: string[]) {
  const r = await gatehouse([...args, '--json']);
  assert.equal(r.code, 0, `gatehouse ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
async function fakeToken(clientId: string, id: string) {
  await db.insertInto('oidc_payloads').values({ model: 'ClientCredentials', id, payload: JSON.stringify({ clientId }), expires_at: new Date(Date.now() + 3600_000) }).execute();
}
const tokenExists = async (id: string) => Boolean(await db.selectFrom('oidc_payloads').select('id').where('id', '=', id).executeTakeFirst());

describe('gatehouse client and tenant', { concurrency: 3 }, () => {
  test('client list, show, update (redirect URIs checked), disable/enable (its tokens go; the provider no longer finds it), rotate-secret, delete', async () => {
    const { client_id: id } = await json(['client', 'create', '--name', 'Shop', '--redirect-uri', 'https://shop.example.com/cb']);
    const listed = await gatehouse(['client', 'list']);
    assert.match(listed.stdout, /^CLIENT_ID +NAME +KIND +ORGANIZATION +STATUS +CREATED$/m);
    assert.match(listed.stdout, new RegExp(`^${id} +Shop +confidential +- +active `, 'm'));
    const updated = await json(['client', 'update', id, '--name', 'Shop 2', '--redirect-uri', 'https://shop.example.com/callback', '--require-mfa']);
    assert.deepEqual([updated.name, updated.redirect_uris, updated.require_mfa], ['Shop 2', ['https://shop.example.com/callback'], true]);
    const bad = await gatehouse(['client', 'update', id, '--redirect-uri', 'http://shop.example.com/cb']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /only loopback addresses/);

    await fakeToken(id, 'cc-of-shop');
    const off = await json(['client', 'disable', id]);
    assert.deepEqual([off.disabled, off.revoked], [true, 1]);
    assert.equal(await tokenExists('cc-of-shop'), false);
    assert.equal(await services.clients.find(id), null, 'the provider does not know a disabled client');
    assert.equal((await json(['client', 'enable', id])).disabled, false);
    assert.ok(await services.clients.find(id));

    const rotated = await json(['client', 'rotate-secret', id]);
    const row = await db.selectFrom('oidc_clients').select('secret_sha256').where('client_id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.secret_sha256, createHash('sha256').update(rotated.client_secret).digest('hex'));
    const shown = await gatehouse(['client', 'show', id]);
    assert.match(shown.stdout, /^name: +Shop 2$/m);
    assert.doesNotMatch(shown.stdout, new RegExp(rotated.client_secret));

    const refused = await gatehouse(['client', 'delete', id]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /add --yes/);
    assert.equal((await json(['client', 'delete', id, '--yes'])).deleted, true);
    const gone = await gatehouse(['client', 'show', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No client with the id/);
    await services.clients.ensureAccountClient(services.config.issuer); // as every server start does
    const builtIn = await gatehouse(['client', 'delete', 'gatehouse-account', '--yes']);
    assert.equal(builtIn.code, 1);
    assert.match(builtIn.stderr, /Gatehouse's own client/);
  });

  test('tenant list, show, update --name, disable/enable (its private apps stop), remove-member, delete', async () => {
    await json(['tenant', 'create', '--slug', 'globex', '--name', 'Globex']);
    const owner = await makeUser(services, { email: 'owner@globex.example' });
    const member = await makeUser(services, { email: 'member@globex.example' });
    await json(['tenant', 'add-member', 'globex', '--email', owner.email, '--role', 'owner']);
    await json(['tenant', 'add-member', 'globex', '--email', member.email, '--role', 'member']);
    const { client_id: app } = await json(['client', 'create', '--name', 'Globex app', '--redirect-uri', 'https://globex.example/cb', '--tenant', 'globex']);

    const list = await gatehouse(['tenant', 'list']);
    assert.match(list.stdout, /^SLUG +NAME +MEMBERS +INVITED +APPS +2FA +STATUS$/m);
    assert.match(list.stdout, /^globex +Globex +2 +0 +1 +not required +active$/m);
    const show = await gatehouse(['tenant', 'show', 'globex']);
    assert.match(show.stdout, /^coverage: +0 of 2 members/m);
    assert.match(show.stdout, /^member@globex\.example +member /m);
    assert.equal((await json(['tenant', 'update', 'globex', '--name', 'Globex Corp'])).name, 'Globex Corp');

    assert.equal((await json(['tenant', 'disable', 'globex'])).disabled, true);
    assert.equal(await services.clients.find(app), null, "a disabled organization's apps stop");
    await json(['tenant', 'enable', 'globex']);
    assert.ok(await services.clients.find(app));

    const lastOwner = await gatehouse(['tenant', 'remove-member', 'globex', '--email', owner.email]);
    assert.equal(lastOwner.code, 1);
    assert.match(lastOwner.stderr, /at least one owner/);
    assert.equal((await json(['tenant', 'remove-member', 'globex', '--email', member.email])).removed, true);
    const notMember = await gatehouse(['tenant', 'remove-member', 'globex', '--email', member.email]);
    assert.equal(notMember.code, 1);
    assert.match(notMember.stderr, /member@globex\.example is not a member of globex/);

    const deleted = await json(['tenant', 'delete', 'globex', '--yes']);
    assert.deepEqual([deleted.deleted, deleted.members, deleted.apps], [true, 1, 1]);
    assert.equal(await db.selectFrom('oidc_clients').select('client_id').where('client_id', '=', app).executeTakeFirst(), undefined);
    assert.ok(await services.users.findById(owner.id), 'members keep their accounts');
    const audit = await db.selectFrom('audit_events').select('data').where('event', '=', 'tenant.deleted').executeTakeFirstOrThrow();
    assert.equal(audit.data.actor, 'operator (CLI)');
  });

  test('tenant update --from a past date says it applies at once and asks (terminal) or needs --yes; a future date does not ask', async () => {
    await json(['tenant', 'create', '--slug', 'initech', '--name', 'Initech']);
    const past = isoDay(daysFrom(new Date(), -3));
    const refused = await gatehouse(['tenant', 'update', 'initech', '--require-2fa', 'on', '--from', past]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`${past} is in the past: the requirement applies at once`));
    assert.match(refused.stderr, /add --yes/);
    assert.equal((await services.tenants.bySlug('initech')).require2fa, false, 'nothing changed');

    const declined = await runGatehouseTty(databaseUrl, ['tenant', 'update', 'initech', '--require-2fa', 'on', '--from', past], [{ after: /\[y\/N\] /, type: 'n\r' }]);
    assert.equal(declined.code, 1, declined.output);
    assert.match(declined.output, /applies at once, with no grace period/);
    assert.equal((await services.tenants.bySlug('initech')).require2fa, false);

    const applied = await json(['tenant', 'update', 'initech', '--require-2fa', 'on', '--from', past, '--yes']);
    assert.equal(applied.require_2fa, true);
    const future = await json(['tenant', 'update', 'initech', '--from', isoDay(daysFrom(new Date(), 14))]);
    assert.equal(future.require_2fa, true);
  });
});
