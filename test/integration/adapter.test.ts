import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { sql } from 'kysely';
import { errors, type AdapterPayload } from 'oidc-provider';
import { createDb } from '../../src/db/database.ts';
import { createClientService } from '../../src/domain/clients/client.service.ts';
import { createSecretBox } from '../../src/domain/crypto/secret-box.ts';
import { createAdapterFactory } from '../../src/oidc/adapter.ts';
import { storedId } from '../../src/oidc/payload-rows.ts';
import { createTestDatabase } from '../helpers/db.ts';

const db = createDb(await createTestDatabase({ after }), { max: 10 });
after(() => db.destroy());
const clients = createClientService({ db });
const adapter = createAdapterFactory(db, clients, createSecretBox([{ id: 't1', key: Buffer.alloc(32, 7) }]));

const id = () => randomUUID();
const HOUR = 3600;

async function expire(model: string, rowId: string) {
  await db.updateTable('oidc_payloads').set({ expires_at: sql`now() - interval '1 second'` }).where('model', '=', model).where('id', '=', storedId(model, rowId)).execute();
}

test('upsert then find returns the payload; upsert again replaces it; models are separate', async () => {
  const tokens = adapter('AccessToken');
  const tid = id();
  assert.equal(await tokens.find(tid), undefined);
  await tokens.upsert(tid, { jti: tid, kind: 'AccessToken', accountId: 'a1', grantId: 'g1' }, HOUR);
  assert.deepEqual(await tokens.find(tid), { jti: tid, kind: 'AccessToken', accountId: 'a1', grantId: 'g1' });
  await tokens.upsert(tid, { jti: tid, kind: 'AccessToken', accountId: 'a2' }, HOUR);
  assert.deepEqual(await tokens.find(tid), { jti: tid, kind: 'AccessToken', accountId: 'a2' });
  assert.equal(await adapter('RefreshToken').find(tid), undefined, 'same id, other model');
  // expiresIn 0/undefined: no expiry
  const sid = id();
  await adapter('Session').upsert(sid, { jti: sid, kind: 'Session' }, 0);
  assert.deepEqual(await adapter('Session').find(sid), { jti: sid, kind: 'Session' });
});

test('findByUid finds a Session; findByUserCode finds a DeviceCode', async () => {
  const [sid, uid, did, userCode] = [id(), id(), id(), `UC-${id()}`];
  await adapter('Session').upsert(sid, { jti: sid, uid, kind: 'Session' }, HOUR);
  await adapter('DeviceCode').upsert(did, { jti: did, userCode, kind: 'DeviceCode' }, HOUR);
  assert.equal((await adapter('Session').findByUid(uid))?.jti, sid);
  assert.equal((await adapter('DeviceCode').findByUserCode(userCode))?.jti, did);
  assert.equal(await adapter('Session').findByUid(id()), undefined);
  assert.equal(await adapter('DeviceCode').findByUserCode(id()), undefined);
  assert.equal(await adapter('Interaction').findByUid(uid), undefined, 'the uid belongs to the Session model');
});

test('destroy removes only that row', async () => {
  const codes = adapter('AuthorizationCode');
  const [a, b] = [id(), id()];
  await codes.upsert(a, { jti: a }, HOUR);
  await codes.upsert(b, { jti: b }, HOUR);
  await codes.destroy(a);
  assert.equal(await codes.find(a), undefined);
  assert.equal((await codes.find(b))?.jti, b);
});

test('revokeByGrantId removes every model of that grant and the Grant row itself, nothing else', async () => {
  const [grantId, other] = [id(), id()];
  const issued = ['AuthorizationCode', 'AccessToken', 'RefreshToken', 'BackchannelAuthenticationRequest'].map((model) => ({ model, id: id() }));
  await adapter('Grant').upsert(grantId, { jti: grantId, kind: 'Grant', accountId: 'a1' }, HOUR);
  for (const m of issued) await adapter(m.model).upsert(m.id, { jti: m.id, grantId }, HOUR);
  const survivor = id();
  await adapter('Grant').upsert(other, { jti: other, kind: 'Grant' }, HOUR);
  await adapter('AccessToken').upsert(survivor, { jti: survivor, grantId: other }, HOUR);

  await adapter('RefreshToken').revokeByGrantId(grantId);
  assert.equal(await adapter('Grant').find(grantId), undefined);
  for (const m of issued) assert.equal(await adapter(m.model).find(m.id), undefined, `${m.model} revoked`);
  const left = await db.selectFrom('oidc_payloads').select('id').where((eb) => eb.or([eb('grant_id', '=', grantId), eb('id', '=', grantId)])).execute();
  assert.deepEqual(left, []);
  assert.equal((await adapter('Grant').find(other))?.jti, other);
  assert.equal((await adapter('AccessToken').find(survivor))?.jti, survivor);
});

test('expired rows are not found by find, findByUid or findByUserCode', async () => {
  const [sid, uid, did, userCode] = [id(), id(), id(), `UC-${id()}`];
  await adapter('Session').upsert(sid, { jti: sid, uid }, HOUR);
  await adapter('DeviceCode').upsert(did, { jti: did, userCode }, HOUR);
  assert.ok(await adapter('Session').find(sid));
  await expire('Session', sid);
  await expire('DeviceCode', did);
  assert.equal(await adapter('Session').find(sid), undefined);
  assert.equal(await adapter('Session').findByUid(uid), undefined);
  assert.equal(await adapter('DeviceCode').find(did), undefined);
  assert.equal(await adapter('DeviceCode').findByUserCode(userCode), undefined);
});

test('consume marks the payload consumed (epoch seconds)', async () => {
  const codes = adapter('AuthorizationCode');
  const cid = id();
  await codes.upsert(cid, { jti: cid, grantId: id() }, 60);
  assert.equal((await codes.find(cid))?.consumed, undefined);
  const before = Math.floor(Date.now() / 1000);
  await codes.consume(cid);
  const consumed = (await codes.find(cid))?.consumed;
  assert.equal(typeof consumed, 'number');
  assert.ok(Math.abs((consumed as number) - before) <= 5, `consumed ${consumed} is now`);
});

test('authorization-code-single-use', async () => {
  const codes = adapter('AuthorizationCode');
  const cid = id();
  await codes.upsert(cid, { jti: cid, kind: 'AuthorizationCode', grantId: id() } as AdapterPayload, 60);
  const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => codes.consume(cid)));
  const won = outcomes.filter((o) => o.status === 'fulfilled');
  const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  assert.equal(won.length, 1, 'exactly one consume wins');
  assert.equal(lost.length, 19);
  for (const { reason } of lost) {
    assert.ok(reason instanceof errors.InvalidGrant, String(reason));
    assert.equal(reason.error, 'invalid_grant');
  }
});

test('Client model: find returns the metadata with client_secret "sha256:" + hex digest, never the secret', async () => {
  const confidential = await clients.create({ name: 'Confidential', redirectUris: ['https://app.example.com/cb'] });
  const found = await adapter('Client').find(confidential.clientId);
  assert.ok(found && confidential.clientSecret);
  assert.equal(found.client_secret, `sha256:${createHash('sha256').update(confidential.clientSecret).digest('hex')}`);
  assert.ok(!JSON.stringify(found).includes(confidential.clientSecret));
  assert.equal(found.client_id, confidential.clientId);
  assert.deepEqual(found.redirect_uris, ['https://app.example.com/cb']);
  assert.equal(found.token_endpoint_auth_method, 'client_secret_basic');

  const pub = await clients.create({ name: 'SPA', redirectUris: ['https://spa.example.com/cb'], public: true });
  const foundPub = await adapter('Client').find(pub.clientId);
  assert.equal(foundPub?.token_endpoint_auth_method, 'none');
  assert.ok(foundPub && !('client_secret' in foundPub));
  assert.equal(await adapter('Client').find('gh_unknown'), undefined);
});

test('tokens-stored-as-digests: bearer values never appear as row ids, yet every lookup works', async () => {
  const [at, sessionId, dc, userCode] = [id(), id(), id(), 'BCDF-GHJK'];
  await adapter('AccessToken').upsert(at, { jti: at, grantId: id() }, HOUR);
  await adapter('Session').upsert(sessionId, { jti: sessionId, uid: id() }, HOUR);
  await adapter('DeviceCode').upsert(dc, { jti: dc, userCode }, HOUR);
  const rows = await db.selectFrom('oidc_payloads').select(['model', 'id', 'user_code', 'payload']).where('model', 'in', ['AccessToken', 'Session', 'DeviceCode']).execute();
  for (const secret of [at, sessionId, dc, userCode]) assert.ok(!JSON.stringify(rows).includes(secret), 'stored as a digest, and sealed inside the payload');
  assert.ok(rows.some((r) => r.id === createHash('sha256').update(at).digest('hex')), 'SHA-256 hex of the value');
  assert.ok(await adapter('AccessToken').find(at));
  assert.ok(await adapter('Session').find(sessionId));
  assert.equal((await adapter('DeviceCode').findByUserCode(userCode))?.jti, dc);
  await adapter('AccessToken').destroy(at);
  assert.equal(await adapter('AccessToken').find(at), undefined);
});

test('credential-epoch-kills-provider-rows: a user\'s session and tokens are not found once the epoch moves; others\' are', async () => {
  const [mine, theirs] = await db.insertInto('users').values([{ email: `${id()}@example.test`, email_normalized: `${id()}@example.test` }, { email: `${id()}@example.test`, email_normalized: `${id()}@example.test` }]).returning('id').execute();
  const [s1, s2, rt] = [id(), id(), id()];
  await adapter('Session').upsert(s1, { jti: s1, accountId: mine!.id }, HOUR);
  await adapter('Session').upsert(s2, { jti: s2, accountId: theirs!.id }, HOUR);
  await adapter('RefreshToken').upsert(rt, { jti: rt, accountId: mine!.id, grantId: id() }, HOUR);
  assert.ok(await adapter('Session').find(s1));
  await db.updateTable('users').set({ credential_epoch: sql`credential_epoch + 1` }).where('id', '=', mine!.id).execute();
  assert.equal(await adapter('Session').find(s1), undefined);
  assert.equal(await adapter('RefreshToken').find(rt), undefined);
  assert.ok(await adapter('Session').find(s2), 'another user is untouched');
  // a row saved again keeps the epoch it was born in: re-saving a dead session does not revive it
  await adapter('Session').upsert(s1, { jti: s1, accountId: mine!.id, loginTs: 1 }, HOUR);
  assert.equal(await adapter('Session').find(s1), undefined);
});
