// Deep links survive sign-in, and only to our own origin: every spelling a browser would read as another origin is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeReturnPath } from '../../src/domain/navigation/return-path.ts';

test('return path after sign-in is same-origin only: //evil, /\\evil, absolute URLs and control characters are refused', () => {
  for (const bad of [
    '//evil.example',
    '//evil.example/admin',
    '/\\evil.example',
    '\\\\evil.example',
    '\\/evil.example',
    'https://evil.example/admin',
    'http:/evil.example',
    'javascript:alert(1)',
    'admin/acme',
    '/\t/evil.example',
    '/\n/evil.example',
    '/admin\r\nSet-Cookie: x=1',
    '/admin/\u0000',
    '/admin/\u007f',
    '/a b',
    '/admin\\..\\evil',
    '',
    `/${'a'.repeat(600)}`,
    42,
    undefined,
    null,
  ]) {
    assert.equal(safeReturnPath(bad), null, `refused: ${JSON.stringify(bad)}`);
  }
});

test('return path after sign-in keeps a page of ours with its query', () => {
  assert.equal(safeReturnPath('/admin/acme/settings'), '/admin/acme/settings');
  assert.equal(safeReturnPath('/admin/acme/audit?event=login.&member='), '/admin/acme/audit?event=login.&member=');
  assert.equal(safeReturnPath('/account/tokens'), '/account/tokens');
  // dot segments resolve inside our origin
  assert.equal(safeReturnPath('/admin/../account'), '/account');
});

test('return path after sign-in never points at the sign-in itself or the provider (no loops)', () => {
  for (const loop of ['/account/sign-in', '/account/sign-in?return=/admin', '/account/callback?state=x', '/oidc/auth', '/interaction/abc']) {
    assert.equal(safeReturnPath(loop), null, loop);
  }
});
