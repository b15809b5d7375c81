// Scenario 9: a node dies (kill -9), or its database connection does, in the middle of a refresh-token rotation. The
// rotation is held at its commit by a row lock the test takes, so the fault lands exactly there. The client's retry
// with the same token, on another node, succeeds once; there are never two valid refresh tokens; the grant lives.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { sha256Hex } from '../../src/domain/crypto/tokens.ts';
import { client, token, tokensFor, userWithTotp } from './flows.ts';
import { reportRow } from './report.ts';
import { fileScope, rigOnFreshDatabase, waitFor, type Rig } from './rig.ts';

let rig: Rig;
let dbName: string;
const scope = fileScope(after);
before(async () => {
  rig = await rigOnFreshDatabase(scope, { nodes: 2 });
  dbName = new URL(rig.databaseUrl).pathname.slice(1);
});

/** holds a lock on the refresh token's row until release(): a rotation of it waits at its consume, before its commit */
async function holdRow(refreshToken: string) {
  const c = new pg.Client({ connectionString: rig.databaseUrl });
  await c.connect();
  await c.query('BEGIN');
  await c.query(`SELECT 1 FROM oidc_payloads WHERE id = $1 FOR UPDATE`, [sha256Hex(refreshToken)]);
  return {
    release: async () => {
      await c.query('ROLLBACK');
      await c.end();
    },
  };
}

/** the backend of a node's rotation, waiting on that lock */
const waitingRotation = () =>
  waitFor('the rotation waiting on the row lock', async () => {
    const c = new pg.Client({ connectionString: rig.databaseUrl });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query ILIKE '%consumed_at%'`, [dbName]);
      return rows[0]?.pid as number | undefined;
    } finally {
      await c.end();
    }
  }, 10, 100);

async function grantState(user: { id: string }) {
  const live = await rig.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'RefreshToken').where('account_id', '=', user.id).where('consumed_at', 'is', null).execute();
  return { live: live.length };
}

test('refresh-rotation-survives-kill-9: the node dies at the rotation\'s commit; the retry on another node succeeds once, the grant lives', async () => {
  const user = await userWithTotp(rig);
  const c = await client(rig);
  const tokens = await tokensFor(rig, c, user);
  const [victim] = rig.nodes;
  const lock = await holdRow(tokens.refresh_token!);
  const inFlight = token(rig, c, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, victim!.pin).catch((err: Error) => ({ status: 0, body: { error: err.message }, retryAfter: null, node: '' }));
  await waitingRotation();
  await victim!.kill();
  const died = await inFlight;
  assert.notEqual(died.status, 200, 'the killed node answered nothing');
  await lock.release();

  const retry = await token(rig, c, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
  assert.equal(retry.status, 200, `the retry with the same token succeeds: ${JSON.stringify(retry.body)}`);
  assert.equal((await grantState(user)).live, 1, 'never two valid refresh tokens');
  const next = await token(rig, c, { grant_type: 'refresh_token', refresh_token: retry.body.refresh_token! });
  assert.equal(next.status, 200, 'the grant was not revoked for our fault');
  assert.equal((await grantState(user)).live, 1, 'still one');
  await victim!.restart();
  reportRow({ scenario: '9 kill -9 during refresh rotation', result: 'pass', requests: 3, successes: 2, fiveXx: died.status >= 500 ? 1 : 0, note: `the dying request got ${died.status || 'a closed connection'} from the proxy; the retry on ${retry.node} succeeded once` });
});

test('refresh-rotation-survives-a-killed-connection: the rotation\'s connection is terminated at its commit; 503, then the retry succeeds once', async () => {
  const user = await userWithTotp(rig);
  const c = await client(rig);
  const tokens = await tokensFor(rig, c, user);
  const lock = await holdRow(tokens.refresh_token!);
  const inFlight = token(rig, c, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
  const pid = await waitingRotation();
  const admin = new pg.Client({ connectionString: rig.databaseUrl });
  await admin.connect();
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  await admin.end();
  const failed = await inFlight;
  await lock.release();
  assert.equal(failed.status, 503, JSON.stringify(failed.body));
  assert.equal(failed.retryAfter, '5');

  const retry = await token(rig, c, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
  assert.equal(retry.status, 200, `the retry with the same token succeeds: ${JSON.stringify(retry.body)}`);
  assert.equal((await grantState(user)).live, 1, 'never two valid refresh tokens');
  const next = await token(rig, c, { grant_type: 'refresh_token', refresh_token: retry.body.refresh_token! });
  assert.equal(next.status, 200, 'the grant was not revoked for our fault');
  reportRow({ scenario: '9 connection killed during refresh rotation', result: 'pass', requests: 3, successes: 2, fiveXx: 1, note: `503 + Retry-After from ${failed.node}; the retry on ${retry.node} succeeded once` });
});
