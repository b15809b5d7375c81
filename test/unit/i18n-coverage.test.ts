// What the domain names for people to read — error messages, security notices, link mails — exists in every
// catalogue, so a German reader never meets an English fallback on a page or in a mail.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { hasMessage, readCatalogue } from '../../src/i18n/catalogue.ts';
import { SUPPORTED_LOCALES } from '../../src/domain/users/locale-preference.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}
const code = [...sources('src/domain'), ...sources('src/http/routes')].map((f) => readFileSync(f, 'utf8')).join('\n');

/** errors only an operator meets, at the command line or in the JSON APIs (English, like the CLI's own words) */
const OPERATOR_ONLY = new Set([
  'grant_type_required', 'invalid_client_id', 'invalid_client_secret', 'invalid_display_name', 'invalid_grant_type', 'invalid_icon', 'invalid_issuer',
  'invalid_name', 'invalid_resource_server', 'invalid_scopes', 'invalid_slug', 'invalid_trust_rule', 'invalid_uri', 'redirect_uri_required', 'slug_taken',
  'upstream_exists', 'upstream_not_found', 'user_not_found', 'own_account', 'invalid_request',
  // clients are registered and changed from the CLI only
  'client_not_found', 'built_in_client', 'public_client', 'invalid_redirect_uri',
]);

const has = (key: string) => SUPPORTED_LOCALES.every((l) => {
  let node: unknown = readCatalogue(l);
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return typeof node === 'string' || (node !== null && typeof node === 'object');
});

test('every domain error a page can show has its message in every catalogue (codes, and keys where one code has several)', () => {
  const codes = new Set([...code.matchAll(/(?:Error|super)\(\s*'([a-z0-9_]+)',/g)].map((m) => m[1]!));
  const keys = new Set([...code.matchAll(/\{ key: '([a-z0-9_]+)'/g)].map((m) => m[1]!));
  assert.ok(codes.size > 40, `found the domain's error codes (${codes.size})`);
  const missing = [...codes, ...keys].filter((c) => !OPERATOR_ONLY.has(c) && !has(`errors.${c}`));
  assert.deepEqual(missing, []);
  assert.equal(hasMessage('errors.password_too_short'), true);
});

test('every security notice and link mail the domain sends has its words in every catalogue', () => {
  const notices = [...code.matchAll(/notice\(trx, \w+, '([a-z0-9_]+)'/g), ...code.matchAll(/kind: (?:tenant\.require2fa \? )?'([a-z0-9_]+)'(?: : '([a-z0-9_]+)')?/g)].flatMap((m) => [m[1], m[2]]).filter((k): k is string => Boolean(k) && !['flow', 'link', 'redirect', 'refused', 'totp', 'webauthn'].includes(k!));
  const links = [...code.matchAll(/textKey: (?:[^'\n]*\? )?'([a-z0-9_]+)'(?: : '([a-z0-9_]+)')?/g)].flatMap((m) => [m[1], m[2]]).filter((k): k is string => Boolean(k));
  assert.ok(notices.length >= 7 && links.length >= 3, `found the notices (${notices}) and link mails (${links})`);
  const missing = [...notices.map((k) => `email.notice.${k}`), ...links.map((k) => `email.link.${k}`)].filter((k) => !has(k));
  assert.deepEqual(missing, []);
});
