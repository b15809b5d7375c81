// `gatehouse upstream …` and `tenant methods`: the operator's commands, as a child process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runGatehouse } from '../helpers/cli.ts';
import { createTestDatabase } from '../helpers/db.ts';

test('upstream-cli: add (secret from stdin, sealed), list, update the trust rule, tenant methods, bad input, remove', async (t) => {
  const url = await createTestDatabase(t);
  const add = await runGatehouse(url, ['upstream', 'add', '--name', 'google', '--display-name', 'Google', '--issuer', 'https://accounts.google.com', '--client-id', 'abc.apps.googleusercontent.com', '--client-secret-stdin', '--json'], 'super-secret-value\n');
  assert.equal(add.code, 0, add.stderr);
  const added = JSON.parse(add.stdout);
  assert.equal(added.has_secret, true);
  assert.match(added.redirect_uri, /\/federation\/callback$/);
  assert.deepEqual(added.trust, { amr: [], acr: [], maxAgeSeconds: 300 });

  const dump = await runGatehouse(url, ['upstream', 'list']);
  assert.match(dump.stdout, /google {2}Google {2}https:\/\/accounts\.google\.com .*trust: off/);
  assert.doesNotMatch(dump.stdout, /super-secret-value/);

  const upd = await runGatehouse(url, ['upstream', 'update', 'google', '--trust-amr', 'mfa,otp', '--trust-max-age', '120', '--json']);
  assert.equal(upd.code, 0, upd.stderr);
  assert.deepEqual(JSON.parse(upd.stdout).trust, { amr: ['mfa', 'otp'], acr: [], maxAgeSeconds: 120 });

  assert.equal((await runGatehouse(url, ['tenant', 'create', '--slug', 'acme', '--name', 'Acme'])).code, 0);
  const methods = await runGatehouse(url, ['tenant', 'methods', 'acme', '--methods', 'password,google']);
  assert.equal(methods.code, 0, methods.stderr);
  const unknown = await runGatehouse(url, ['tenant', 'methods', 'acme', '--methods', 'password,github']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /Allowed sign-in methods: password, google/);

  const insecure = await runGatehouse(url, ['upstream', 'add', '--name', 'dev', '--display-name', 'Dev', '--issuer', 'http://127.0.0.1:1', '--client-id', 'x']);
  assert.equal(insecure.code, 1);
  assert.match(insecure.stderr, /must be https/);
  const badName = await runGatehouse(url, ['upstream', 'add', '--name', 'password', '--display-name', 'P', '--issuer', 'https://x.example', '--client-id', 'x']);
  assert.equal(badName.code, 1);
  assert.match(badName.stderr, /not "password"/);

  const rm = await runGatehouse(url, ['upstream', 'remove', 'google']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.match((await runGatehouse(url, ['upstream', 'list'])).stdout, /No upstream providers/);
});
