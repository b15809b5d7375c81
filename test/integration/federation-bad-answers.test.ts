// Bad upstream answers: refused with a clear page and a way back, nothing created or linked, audited.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFakeUpstream, type Defect } from '../helpers/fake-upstream.ts';
import { atGatehouse, beginAtApp, type FederationSetup } from '../helpers/federation.ts';
import { formOn } from '../helpers/http-browser.ts';
import { startServer } from '../helpers/server.ts';

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const gatehouse = await startServer(t, { env: { GATEHOUSE_ALLOW_PRIVATE_FETCH: 'true', GATEHOUSE_UPSTREAM_TIMEOUT_MS: '500' } });
  const fake = await startFakeUpstream(t);
  await gatehouse.services.upstreams.add({ name: 'fake', displayName: 'Fake IdP', issuer: fake.issuer, clientId: 'gatehouse', clientSecret: 'a client secret', trustAmr: ['mfa'] });
  return { fake, fed: { gatehouse, upstream: null as never, upstreamName: 'fake' } satisfies FederationSetup };
}

/** the button, the (fake) upstream's redirect back, and Gatehouse's answer */
async function attempt(fed: FederationSetup) {
  const j = await beginAtApp(fed);
  const door = formOn(j.login, '/federated/fake');
  const started = await j.down.request(door.action, { form: door.fields });
  if (started.status !== 303) return started;
  const back = await fetch(started.headers.get('location')!, { redirect: 'manual' });
  return atGatehouse(j, back.headers.get('location')!);
}

const cases: [Defect, RegExp][] = [
  ['nonce', /could not be verified/],
  ['iss', /could not be verified/],
  ['expired', /could not be verified/],
  ['unsigned', /could not be verified/],
  ['token_error', /answered with an error/],
  ['slow', /took too long/],
];

test('bad-upstream-answers-refused: wrong nonce, wrong iss, expired, unsigned, an error, too slow → clear page, nothing created, audited', async (t) => {
  const { fake, fed } = await setup(t);
  const db = fed.gatehouse.services.db;
  for (const [defect, words] of cases) {
    fake.state.defect = defect;
    const page = await attempt(fed);
    assert.ok(page.status >= 400 && page.status < 600 && page.status !== 500, `${defect}: status ${page.status}`);
    assert.match(page.body, words, defect);
    assert.match(page.body, /Back to sign-in/, `${defect}: a way back`);
  }
  assert.equal((await db.selectFrom('users').select('id').execute()).length, 0, 'no account created');
  assert.equal((await db.selectFrom('upstream_links').select('id').execute()).length, 0, 'nothing linked');
  const failures = await db.selectFrom('audit_events').select('data').where('event', '=', 'federation.failed').execute();
  assert.equal(failures.length, cases.length, 'each failure is audited');

  // the same upstream behaving: accepted (the test's upstream is otherwise correct)
  fake.state.defect = 'none';
  const ok = await attempt(fed);
  assert.equal(ok.status, 0, `signed in: ${ok.url} ${ok.body.slice(0, 300)}`);
});

test('upstream-down-refused: an unreachable upstream gives a clear page, not a 500', async (t) => {
  const { fake, fed } = await setup(t);
  await fake.close();
  const page = await attempt(fed);
  assert.equal(page.status, 502);
  assert.match(page.body, /Fake IdP could not be reached/);
});

test('replayed-callback-refused: an upstream answer is single use', async (t) => {
  const { fed } = await setup(t);
  const j = await beginAtApp(fed);
  const door = formOn(j.login, '/federated/fake');
  const started = await j.down.request(door.action, { form: door.fields });
  const back = (await fetch(started.headers.get('location')!, { redirect: 'manual' })).headers.get('location')!;
  const first = await atGatehouse(j, back);
  assert.equal(first.status, 0);
  const replay = await j.down.request(back);
  assert.equal(replay.status, 400);
  assert.match(replay.body, /already used|does not belong/);
});
