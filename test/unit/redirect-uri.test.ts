import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applicationType, checkBackchannelUri, checkRedirectUri } from '../../src/domain/clients/redirect-uri.ts';
import { editDistance, nearest } from '../../src/cli/suggest.ts';

test('redirect-uris-validated-like-a-provider: https, loopback http and reverse-domain private-use schemes only', () => {
  for (const [uri, kind] of [
    ['https://app.example.com/callback', 'web'],
    ['http://127.0.0.1:8080/callback', 'loopback'],
    ['http://[::1]/cb', 'loopback'],
    ['http://localhost:8080/callback', 'loopback'],
    ['com.example.app:/callback', 'private-use'],
  ] as const) {
    assert.equal(checkRedirectUri(uri), kind, uri);
  }
  const refused: [string, RegExp][] = [
    ['localhost:8080/callback', /has no scheme: write http:\/\/localhost:8080\/callback/],
    ['https://example.com/*', /wildcard/],
    ['https://*.example.com/cb', /wildcard/],
    ['https://app.example.com/cb#x', /fragment/],
    ['https://user:pw@app.example.com/cb', /user name or password/],
    ['http://app.example.com/cb', /only loopback addresses .* use https/],
    ['myapp:/cb', /reverse domain name/],
    ['javascript:alert(1)', /javascript scheme/],
    ['/callback', /not an absolute URI/],
    ['app.example.com/callback', /not an absolute URI/],
  ];
  for (const [uri, message] of refused) {
    assert.throws(() => checkRedirectUri(uri), (e: { code?: string; message: string }) => e.code === 'invalid_redirect_uri' && message.test(e.message), uri);
  }
  assert.throws(() => checkBackchannelUri('com.example.app:/logout'), /must be an https URL/);
  assert.equal(applicationType(['https://a.example/cb', 'com.example.app:/cb']), 'native');
  assert.equal(applicationType(['http://127.0.0.1/cb']), 'web');
});

test('unknown-commands-suggest-the-nearest: edit distance picks a typo\'s command, not an unrelated word', () => {
  assert.equal(editDistance('creat', 'create'), 1);
  assert.equal(nearest('creat', ['list', 'create', 'delete']), 'create');
  assert.equal(nearest('usr', ['user', 'client', 'tenant']), 'user');
  assert.equal(nearest('frobnicate', ['user', 'client', 'tenant']), undefined);
});
