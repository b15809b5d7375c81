// Failure paths against the real database: everything fails closed and heals without a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminQuery as admin } from '../helpers/db.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover } from '../helpers/rp.ts';
import { startServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock } from '../helpers/totp.ts';


test('fail-closed: a read-only database mid-login gives 503 and no code; the pool heals when it is writable again', async (t) => {
  const clock = fixedClock();
  const s = await startServer(t, { clock });
  const dbName = new URL(s.databaseUrl).pathname.slice(1);
  const user = await makeUser(s.services);
  const e = await enrollTotp(s.services, user, clock.now());
  clock.advance(30);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, client.redirectUri);
  const login = await browser.get(req.url);
  const lf = formOn(login, '/login');
  const totpPage = await browser.follow(await browser.request(lf.action, { form: { ...lf.fields, email: user.email, password: user.password } }));
  const tf = formOn(totpPage, '/totp');

  // the database turns read-only, and live connections are cut so that new ones see it
  await admin(`ALTER DATABASE ${dbName} SET default_transaction_read_only = on`);
  await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}' AND pid <> pg_backend_pid()`);
  let res = await browser.request(tf.action, { form: { ...tf.fields, code: codeFor(e.secret, clock.now()) } });
  for (let i = 0; i < 3 && res.status !== 503; i++) res = await browser.request(tf.action, { form: { ...tf.fields, code: codeFor(e.secret, clock.now()) } });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '5');
  assert.equal(res.headers.get('location'), null, 'no redirect, so no code');
  assert.doesNotMatch(res.body, /stack|at \/|kysely|pg-protocol/i, 'no internals in the answer');
  const ready = await fetch(`${s.issuer}/readyz`);
  assert.equal(ready.status, 200, 'reads still work: readiness is about reachability');

  await admin(`ALTER DATABASE ${dbName} RESET default_transaction_read_only`);
  await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}' AND pid <> pg_backend_pid()`);
  // healed without a restart: the same step now completes (the failed attempt consumed nothing)
  let done = await browser.request(tf.action, { form: { ...tf.fields, code: codeFor(e.secret, clock.now()) } });
  for (let i = 0; i < 3 && done.status >= 500; i++) done = await browser.request(tf.action, { form: { ...tf.fields, code: codeFor(e.secret, clock.now()) } });
  assert.equal(done.status, 303, done.body.slice(0, 200));
});

test('killed connections: requests after pg_terminate_backend succeed (the pool replaces dead clients)', async (t) => {
  const s = await startServer(t);
  const dbName = new URL(s.databaseUrl).pathname.slice(1);
  await makeUser(s.services);
  await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}' AND pid <> pg_backend_pid()`);
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await fetch(`${s.issuer}/readyz`)).status);
  assert.equal(statuses.at(-1), 200);
  assert.ok(statuses.every((x) => x === 200 || x === 503), `only 200 or a clean 503: ${statuses}`);
});
