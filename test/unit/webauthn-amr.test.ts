// The one amr mapping (oidc/acr-amr.ts amrFor) and the one policy test of an amr (mfa-policy.ts satisfiedBy): what
// tokens say for every kind of sign-in, and which of them an organization's rule accepts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load-config.ts';
import { satisfiedBy } from '../../src/domain/mfa/mfa-policy.ts';
import { acrFor, amrFor } from '../../src/oidc/acr-amr.ts';

const hwk = { synced: false, userVerified: false };
const hwkUv = { synced: false, userVerified: true };
const swkUv = { synced: true, userVerified: true };

test('amr-tells-what-happened: the README table, row by row', () => {
  const rows: [Parameters<typeof amrFor>[0], string[]][] = [
    [{ password: true }, ['pwd']],
    [{ password: true, totp: true }, ['pwd', 'otp', 'mfa']],
    [{ password: true, recoveryCode: true }, ['pwd', 'mfa']],
    [{ password: true, key: hwk }, ['pwd', 'hwk', 'mfa']],
    [{ password: true, key: hwkUv }, ['pwd', 'hwk', 'user', 'mfa']],
    [{ password: true, key: { synced: true, userVerified: false } }, ['pwd', 'swk', 'mfa']],
    [{ key: hwkUv }, ['hwk', 'user', 'mfa']],
    [{ key: swkUv }, ['swk', 'user', 'mfa']],
    [{ key: hwk }, ['hwk']],
    [{ password: true, recoveryCode: true, key: hwkUv }, ['pwd', 'hwk', 'user', 'mfa']],
    [{ password: true, totp: true, key: hwk }, ['pwd', 'otp', 'hwk', 'mfa']],
  ];
  for (const [event, amr] of rows) assert.deepEqual(amrFor(event), amr, JSON.stringify(event));
});

test('passkey-without-user-verification-is-one-factor: acr stays single-factor', () => {
  assert.equal(acrFor(amrFor({ key: hwk })), 'urn:gatehouse:acr:pwd');
  assert.equal(acrFor(amrFor({ key: hwkUv })), 'urn:gatehouse:acr:mfa');
});

test('security-keys-only-counts-keys: an app code or a recovery code does not satisfy a keys-only rule', () => {
  const any = { required: true, factors: ['totp', 'webauthn'] as ('totp' | 'webauthn')[] };
  const keysOnly = { required: true, factors: ['webauthn'] as ('totp' | 'webauthn')[] };
  assert.equal(satisfiedBy({ required: false, factors: ['webauthn'] }, ['pwd']), true);
  assert.equal(satisfiedBy(any, ['pwd']), false);
  assert.equal(satisfiedBy(any, amrFor({ password: true, totp: true })), true);
  assert.equal(satisfiedBy(any, amrFor({ password: true, recoveryCode: true })), true, 'decision D1');
  assert.equal(satisfiedBy(keysOnly, amrFor({ password: true, totp: true })), false);
  assert.equal(satisfiedBy(keysOnly, amrFor({ password: true, recoveryCode: true })), false);
  assert.equal(satisfiedBy(keysOnly, amrFor({ password: true, key: hwk })), true);
  assert.equal(satisfiedBy(keysOnly, amrFor({ key: swkUv })), true);
  assert.equal(satisfiedBy(keysOnly, amrFor({ key: hwk })), false, 'one factor');
});

test('webauthn-rp-follows-the-issuer; recovery codes viewable unless switched off', () => {
  const base = { NODE_ENV: 'test', UV_THREADPOOL_SIZE: '8', GATEHOUSE_COOKIE_KEYS: 'k'.repeat(32), GATEHOUSE_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}` };
  const c = loadConfig({ ...base, GATEHOUSE_ISSUER: 'https://sso.example.com' });
  assert.deepEqual(c.webauthn, { rpId: 'sso.example.com', origin: 'https://sso.example.com', rpName: 'Gatehouse', available: true });
  assert.equal(c.recoveryCodesViewable, true);
  assert.equal(loadConfig({ ...base, GATEHOUSE_ISSUER: 'http://127.0.0.1:3000' }).webauthn.available, false, 'browsers refuse IP addresses as RP IDs');
  assert.equal(loadConfig({ ...base, GATEHOUSE_RECOVERY_CODES_VIEWABLE: 'false' }).recoveryCodesViewable, false);
  assert.throws(() => loadConfig({ ...base, GATEHOUSE_RECOVERY_CODES_VIEWABLE: 'perhaps' }), /GATEHOUSE_RECOVERY_CODES_VIEWABLE/);
});
