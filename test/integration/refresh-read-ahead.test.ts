// A refresh token's read brings its Grant and Session in the same statement, and the provider's next lookups of
// those rows are answered from the request's memory; what the request then writes or revokes is never answered from
// it, and a revoked grant, an ended session or a credential change still refuses the refresh.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { bumpCredentialEpoch } from '../../src/domain/accounts/credential-epoch.ts';
import { createSecretBox } from '../../src/domain/crypto/secret-box.ts';
import { policyInputs } from '../../src/domain/mfa/mfa-policy.ts';
import { createAdapterFactory } from '../../src/oidc/adapter.ts';
import { storedId } from '../../src/oidc/payload-rows.ts';
import { readInteractionAhead, readTokenAhead } from '../../src/oidc/payload-reads.ts';
import { withEpoch } from '../../src/oidc/request-scope.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, authorizationRequest, discover, redeem, signInOverHttp } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** the statements sent to PostgreSQL through any pg client of this process while `fn` runs */
async function statementsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const seen: string[] = [];
  proto.query = function query(this: unknown, ...args: unknown[]) {
    const q = args[0] as string | { text?: string };
    const text = typeof q === 'string' ? q : q?.text;
    if (text) seen.push(text);
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return seen;
}

/** the statements of `fn` on oidc_payloads (the server's background jobs read other tables meanwhile) */
const payloadReadsDuring = async (fn: () => Promise<unknown>) => (await statementsDuring(fn)).filter((q) => q.includes('"oidc_payloads"'));

async function signedIn(s: TestServer) {
  const user = await makeUser(s.services);
  const client = await makeClient(s.services, { grantTypes: ['refresh_token'] as never });
  const config = await discover(s.issuer, client);
  // no offline_access: the refresh token ends with the session, so the provider also looks the session up
  const req = await authorizationRequest(config, client.redirectUri);
  const { callbackUrl } = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, user);
  const tokens = await redeem(config, req, callbackUrl!);
  assert.ok(tokens.refresh_token, 'a refresh token was issued');
  return { user, client, refreshToken: tokens.refresh_token! };
}

async function refresh(s: TestServer, client: { clientId: string; clientSecret?: string }, refreshToken: string) {
  const res = await fetch(`${s.issuer}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

test('refresh-reads-grant-and-session-with-the-token: one statement reads the token, its grant and its session; the rotation is the only other', async (t) => {
  const s = await startServer(t);
  const { user, client, refreshToken } = await signedIn(s);
  let result: Awaited<ReturnType<typeof refresh>> | undefined;
  const sent = await statementsDuring(async () => void (result = await refresh(s, client, refreshToken)));
  assert.equal(result!.status, 200, JSON.stringify(result!.body));
  const payloadStatements = sent.filter((q) => q.includes('"oidc_payloads"'));
  assert.equal(payloadStatements.length, 2, `the read ahead and the rotation:\n${payloadStatements.join('\n')}`);
  assert.match(payloadStatements[0]!, /^with "t" as \(select .*'Grant'.*'Session'/s, 'the first reads the token with its grant and session');
  assert.match(payloadStatements[1]!, /^with "consumed" as \(update "oidc_payloads"/, 'the second is the rotation');
  assert.ok(sent.includes('BEGIN') || sent.some((q) => /^begin$/i.test(q)), 'the rotation still runs in its explicit transaction');
  assert.match(payloadStatements[0]!, /"tenant_members"/, 'the 2FA policy inputs come with the token');
  assert.deepEqual(sent.filter((q) => /^select true as "of_client"/.test(q)), [], 'the policy sends no statement of its own');
  assert.deepEqual(sent.filter((q) => /^select "users"\.\*/.test(q)), [], 'nor does findAccount: the user came with the token');
  const claims = JSON.parse(Buffer.from(result!.body.id_token!.split('.')[1]!, 'base64url').toString()) as { sub?: string };
  assert.equal(claims.sub, user.id, 'the ID token is about the token\'s user');

  // and the next refresh, with the rotated token, works the same way
  const again = await refresh(s, client, result!.body.refresh_token!);
  assert.equal(again.status, 200, JSON.stringify(again.body));
});

test('code-redemption-reads-grant-and-session-with-the-code: the code\'s read brings its grant, session, user and policy inputs', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const client = await makeClient(s.services, { grantTypes: ['refresh_token'] as never });
  const config = await discover(s.issuer, client);
  const req = await authorizationRequest(config, client.redirectUri);
  const { callbackUrl } = await signInOverHttp(new HttpBrowser(), req.url, client.redirectUri, user);
  let tokens: Awaited<ReturnType<typeof redeem>> | undefined;
  const sent = await statementsDuring(async () => void (tokens = await redeem(config, req, callbackUrl!)));
  assert.ok(tokens?.id_token, 'the code was redeemed');
  const reads = sent.filter((q) => /^(with "t" as \()?select/.test(q) && q.includes('"oidc_payloads"'));
  assert.equal(reads.length, 1, `one read of oidc_payloads:\n${reads.join('\n')}`);
  assert.match(reads[0]!, /^with "t" as \(select .*'Grant'.*'Session'/s, 'the code with its grant and session');
  assert.match(reads[0]!, /"tenant_members"/, 'and the 2FA policy inputs');
  assert.deepEqual(sent.filter((q) => /^select true as "of_client"/.test(q)), [], 'the policy sends no statement of its own');
  assert.deepEqual(sent.filter((q) => /^select "users"\.\*/.test(q)), [], 'nor does findAccount');
  assert.equal(tokens!.claims()!.sub, user.id, 'the ID token is about the code\'s user');
});

test('prefetched-rows-never-outlive-a-change: a row read ahead is not served after the request writes, destroys or revokes it, and is never read ahead dead', async (t) => {
  const s = await startServer(t);
  const db = s.services.db;
  const user = await makeUser(s.services);
  const adapter = createAdapterFactory(db, s.services.clients, createSecretBox([{ id: 't1', key: Buffer.alloc(32, 7) }]));
  const [Grant, Session, RefreshToken] = [adapter('Grant'), adapter('Session'), adapter('RefreshToken')];
  const epoch = (await db.selectFrom('users').select('credential_epoch').where('id', '=', user.id).executeTakeFirstOrThrow()).credential_epoch;

  async function rows() {
    const [gid, sid, suid, rid] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await Grant.upsert(gid, { jti: gid, kind: 'Grant', accountId: user.id, clientId: 'c1', openid: { scope: 'openid' } } as never, 3600);
    await Session.upsert(sid, { jti: sid, uid: suid, kind: 'Session', accountId: user.id } as never, 3600);
    await RefreshToken.upsert(rid, { jti: rid, kind: 'RefreshToken', accountId: user.id, grantId: gid, sessionUid: suid, clientId: 'c1' } as never, 3600);
    return { gid, sid, suid, rid };
  }
  const inRequest = <T>(fn: () => Promise<T>) => withEpoch(user.id, epoch, fn);

  await t.test('read ahead: the grant and session lookups that follow send nothing', async () => {
    const r = await rows();
    await inRequest(async () => {
      assert.equal((await RefreshToken.find(r.rid))?.jti, r.rid);
      let g: unknown, se: unknown;
      const sent = await payloadReadsDuring(async () => {
        g = await Grant.find(r.gid);
        se = await Session.findByUid(r.suid);
      });
      assert.equal((g as { jti?: string })?.jti, r.gid);
      assert.equal((se as { jti?: string })?.jti, r.sid);
      assert.deepEqual(sent, [], 'answered from the request');
    });
  });

  await t.test('the user and the policy inputs read ahead are what findWithFactors and the policy read themselves', async () => {
    const r = await rows();
    const ahead = await readTokenAhead(db, 'RefreshToken', storedId('RefreshToken', r.rid), true);
    assert.deepEqual(ahead.account, await s.services.users.findWithFactors(user.id));
    assert.deepEqual(ahead.policy, await policyInputs(db, sql.val(user.id), sql.val('c1')).execute());
  });

  await t.test('a write of the model in the request: the next lookup reads the database', async () => {
    const r = await rows();
    await inRequest(async () => {
      await RefreshToken.find(r.rid);
      await Grant.upsert(r.gid, { jti: r.gid, kind: 'Grant', accountId: user.id, clientId: 'c1', openid: { scope: 'openid email' } } as never, 3600);
      assert.equal(((await Grant.find(r.gid)) as { openid?: { scope?: string } })?.openid?.scope, 'openid email', 'the new grant, not the one read ahead');
      await Session.destroy(r.sid);
      assert.equal(await Session.findByUid(r.suid), undefined, 'a destroyed session is not served from memory');
    });
  });

  await t.test('a revocation in the request: neither grant nor session is served from memory', async () => {
    const r = await rows();
    await inRequest(async () => {
      await RefreshToken.find(r.rid);
      await RefreshToken.revokeByGrantId(r.gid);
      assert.equal(await Grant.find(r.gid), undefined, 'the revoked grant');
      const sent = await payloadReadsDuring(() => Session.findByUid(r.suid));
      assert.equal(sent.length, 1, 'the session is read again after a revocation');
    });
  });

  await t.test('a consume in the request drops the remembered rows of that model', async () => {
    const r = await rows();
    await inRequest(async () => {
      await RefreshToken.find(r.rid);
      await Grant.consume(r.gid);
      const g = await Grant.find(r.gid);
      assert.ok((g as { consumed?: number })?.consumed, 'the consumed grant as the database has it');
    });
  });

  await t.test('dead rows are not read ahead: an expired grant, a grant of an old epoch', async () => {
    const r = await rows();
    await db.updateTable('oidc_payloads').set({ expires_at: sql`now() - interval '1 second'` }).where('model', '=', 'Grant').where('id', '=', r.gid).execute();
    await inRequest(async () => {
      assert.ok(await RefreshToken.find(r.rid));
      assert.equal(await Grant.find(r.gid), undefined, 'an expired grant');
    });
    const r2 = await rows();
    await db.updateTable('oidc_payloads').set({ credential_epoch: epoch - 1 }).where('model', '=', 'Session').where('uid', '=', r2.suid).execute();
    await inRequest(async () => {
      assert.ok(await RefreshToken.find(r2.rid));
      assert.equal(await Session.findByUid(r2.suid), undefined, 'a session of an old epoch');
    });
  });

  await t.test('outside a request: a plain read, nothing remembered', async () => {
    const r = await rows();
    assert.equal((await RefreshToken.find(r.rid))?.jti, r.rid);
    const sent = await payloadReadsDuring(() => Grant.find(r.gid));
    assert.equal(sent.length, 1, 'the grant is read from the database');
  });
});

test('prefetched-rows-never-outlive-a-change: a revoked grant, an ended session or a credential change still refuses the refresh', async (t) => {
  const s = await startServer(t);
  const db = s.services.db;

  const revoked = await signedIn(s);
  await db.deleteFrom('oidc_payloads').where('model', '=', 'Grant').where('account_id', '=', revoked.user.id).execute();
  const r1 = await refresh(s, revoked.client, revoked.refreshToken);
  assert.equal(r1.status, 400, 'revoked grant');
  assert.equal(r1.body.error, 'invalid_grant');

  const ended = await signedIn(s);
  await db.deleteFrom('oidc_payloads').where('model', '=', 'Session').where('account_id', '=', ended.user.id).execute();
  const r2 = await refresh(s, ended.client, ended.refreshToken);
  assert.equal(r2.status, 400, 'ended session');
  assert.equal(r2.body.error, 'invalid_grant');

  // a credential change that leaves the rows in place but on an older epoch (what bumpCredentialEpoch would delete)
  const changed = await signedIn(s);
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('users').set((eb) => ({ credential_epoch: eb('credential_epoch', '+', 1) })).where('id', '=', changed.user.id).execute();
  });
  const r3 = await refresh(s, changed.client, changed.refreshToken);
  assert.equal(r3.status, 400, 'credential change');
  assert.equal(r3.body.error, 'invalid_grant');

  // and the real one, which also clears the rows
  const changedAgain = await signedIn(s);
  await db.transaction().execute((trx) => bumpCredentialEpoch(trx, changedAgain.user.id));
  const r4 = await refresh(s, changedAgain.client, changedAgain.refreshToken);
  assert.equal(r4.status, 400, 'credential change (bump)');

  // a session kept but a grant on an older epoch: the token and session are alive, the grant is not
  const staleGrant = await signedIn(s);
  await db.updateTable('oidc_payloads').set((eb) => ({ credential_epoch: eb('credential_epoch', '-', 1) })).where('model', '=', 'Grant').where('account_id', '=', staleGrant.user.id).execute();
  const r5 = await refresh(s, staleGrant.client, staleGrant.refreshToken);
  assert.equal(r5.status, 400, 'grant of an old epoch');
  assert.equal(r5.body.error, 'invalid_grant');
});

test('refresh-policy-still-decides-with-inputs-read-ahead: a client or an organization that now requires 2FA refuses a password-only refresh', async (t) => {
  const s = await startServer(t);
  const db = s.services.db;

  const byClient = await signedIn(s);
  await db.updateTable('oidc_clients').set({ require_mfa: true }).where('client_id', '=', byClient.client.clientId).execute();
  const r1 = await refresh(s, byClient.client, byClient.refreshToken);
  assert.equal(r1.status, 400, 'the client requires 2FA now');
  assert.equal(r1.body.error, 'invalid_grant');

  const byOrg = await signedIn(s);
  const tenant = await db.insertInto('tenants').values({ slug: `org-${randomUUID().slice(0, 8)}`, name: 'Org', require_2fa: true }).returning('id').executeTakeFirstOrThrow();
  await db.insertInto('tenant_members').values({ tenant_id: tenant.id, user_id: byOrg.user.id, role: 'member', accepted_at: sql`now()` } as never).execute();
  const r2 = await refresh(s, byOrg.client, byOrg.refreshToken);
  assert.equal(r2.status, 400, 'an organization of the user requires 2FA now');
  assert.equal(r2.body.error, 'invalid_grant');

  // an organization still in its grace period does not refuse it
  const inGrace = await signedIn(s);
  const later = await db
    .insertInto('tenants')
    .values({ slug: `org-${randomUUID().slice(0, 8)}`, name: 'Later', require_2fa: true, enforce_from: sql`now() + interval '7 days'` } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('tenant_members').values({ tenant_id: later.id, user_id: inGrace.user.id, role: 'member', accepted_at: sql`now()` } as never).execute();
  const r3 = await refresh(s, inGrace.client, inGrace.refreshToken);
  assert.equal(r3.status, 200, JSON.stringify(r3.body));
});

test("sign-in-return-reads-its-user-with-the-interaction: the interaction's read brings the user its login result names and the policy's inputs for that user and app, as they read themselves", async (t) => {
  const s = await startServer(t);
  const db = s.services.db;
  const user = await makeUser(s.services);
  const client = await makeClient(s.services);
  const Interaction = createAdapterFactory(db, s.services.clients, createSecretBox([{ id: 't1', key: Buffer.alloc(32, 7) }]))('Interaction');
  const interaction = async (accountId: string) => {
    const uid = randomUUID();
    await Interaction.upsert(uid, { jti: uid, kind: 'Interaction', params: { client_id: client.clientId }, result: { login: { accountId } } } as never, 600);
    return readInteractionAhead(db, uid);
  };

  const ahead = await interaction(user.id);
  assert.ok(ahead.row, 'the interaction itself');
  assert.equal(ahead.login?.accountId, user.id);
  assert.equal(ahead.login?.clientId, client.clientId);
  assert.deepEqual(ahead.login?.account, await s.services.users.findWithFactors(user.id), 'the user as findAccount reads it');
  assert.deepEqual(ahead.login?.policy, await policyInputs(db, sql.val(user.id), sql.val(client.clientId)).execute(), "the policy's inputs for the user and the app");

  const odd = await interaction('not-a-user-id');
  assert.ok(odd.row, 'an interaction whose login names no user is still read');
  assert.equal(odd.login, undefined, 'and brings no user');
});
