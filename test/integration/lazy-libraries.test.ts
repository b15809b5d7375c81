// The libraries of features a node may never run are loaded on their first use (src/domain/load-once.ts), not at
// start: a node that only signs people in with passwords and issues tokens does not hold them (about 25 MiB of RSS).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';

const LAZY = ['@simplewebauthn/server', 'openid-client', 'nodemailer', 'qrcode', '@zxcvbn-ts/language-common'];

test('unused-feature-libraries-stay-unloaded: the server as assembled at start resolves none of the on-first-use libraries', async () => {
  const script = `await import('./src/container.ts'); await import('./src/app.ts'); console.log('imported');`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--import', './test/helpers/print-packages.mjs', '--input-type=module', '-e', script], { env: { ...process.env, LOG_LEVEL: 'silent' } });
  const packages = stdout.split('\n').filter((l) => l.startsWith('package ')).map((l) => l.slice('package '.length));
  assert.ok(stdout.includes('imported'), stdout);
  assert.ok(packages.includes('oidc-provider') && packages.includes('kysely'), `the hook saw the server's own packages: ${packages.join(', ')}`);
  for (const name of LAZY) assert.ok(!packages.includes(name), `${name} was loaded at start`);
});
