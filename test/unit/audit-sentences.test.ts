// Audit events read as sentences with the right method names; CLI actions name the operator; the CSV export cannot
// carry a spreadsheet formula.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditRow } from '../../src/domain/audit/audit-log.ts';
import { auditCsv, csvCell, describeEvent as phraseOf, methodName as methodPhrase, phraseText } from '../../src/domain/audit/audit-sentences.ts';
import { translator } from '../../src/i18n/catalogue.ts';
import { amrFor } from '../../src/oidc/acr-amr.ts';

const en = translator('en');
const describeEvent = (r: AuditRow) => phraseText(phraseOf(r), en);
const methodName = (amr: readonly string[], upstream?: string) => { const p = methodPhrase(amr, upstream); return p && phraseText(p, en); };

const row = (over: Partial<AuditRow>): AuditRow => ({
  id: '1', at: new Date(0), event: 'login.completed', ip: null, user_agent: null, data: {}, actor_user_id: null, actor_email: null, actor_name: null,
  target_user_id: '00000000-0000-4000-8000-000000000001', target_email: 'ann@example.com', target_name: 'Ann', client_id: 'demo', client_name: 'Demo app', tenant_name: null, ...over,
});

test('audit sentences name sign-in methods right: password + authenticator is not "pwd"', () => {
  assert.equal(describeEvent(row({ data: { amr: amrFor({ password: true, totp: true }) } })), 'Ann signed in to Demo app with password + authenticator');
  assert.equal(methodName(amrFor({ password: true })), 'password');
  assert.equal(methodName(amrFor({ password: true, recoveryCode: true })), 'password + recovery code');
  assert.equal(methodName(amrFor({ password: true, key: { synced: false, userVerified: true } })), 'password + security key');
  assert.equal(methodName(amrFor({ password: true, key: { synced: true, userVerified: false } })), 'password + passkey');
  assert.equal(methodName(amrFor({ key: { synced: true, userVerified: true } })), 'passkey');
  assert.equal(methodName(amrFor({ federated: { mfa: false }, totp: true }), 'Acme SSO'), 'Acme SSO + authenticator');
  assert.equal(methodName(amrFor({ federated: { mfa: true } }), 'Acme SSO'), 'Acme SSO (with its two-factor)');
  for (const amr of [['pwd'], ['pwd', 'otp', 'mfa'], ['hwk', 'user', 'mfa']]) assert.doesNotMatch(methodName(amr)!, /\b(pwd|otp|hwk|mfa)\b/);
});

test('audit sentences show the operator for CLI actions', () => {
  const cli = row({ event: 'tenant.member_added', user_agent: 'gatehouse-cli', client_name: null, tenant_name: 'Acme Inc', data: { role: 'admin', pending: false } });
  assert.equal(describeEvent(cli), 'operator (CLI) added Ann to Acme Inc as admin');
  // an organization change never reads as the member doing it to themselves
  assert.equal(describeEvent({ ...cli, user_agent: null }), 'an operator added Ann to Acme Inc as admin');
  const byAdmin = row({ event: 'tenant.member_2fa_reset', actor_user_id: '00000000-0000-4000-8000-000000000002', actor_name: 'Olga', data: { reason: 'lost phone' } });
  assert.equal(describeEvent(byAdmin), "Olga reset Ann's two-factor authentication (reason: lost phone)");
  assert.equal(describeEvent(row({ event: 'login.failed', data: { reason: 'bad_password' } })), 'A sign-in as Ann to Demo app failed: wrong password');
});

test('CSV export is safe against formula injection', () => {
  for (const evil of ['=HYPERLINK("http://evil.example","x")', '+1+1', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) {
    const cell = csvCell(evil);
    assert.match(cell, /^"'/, `${JSON.stringify(evil)} starts with an apostrophe inside quotes: ${cell}`);
  }
  assert.equal(csvCell('plain'), 'plain');
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  const csv = auditCsv([row({ event: 'tenant.member_2fa_reset', actor_user_id: '00000000-0000-4000-8000-000000000002', actor_name: '=cmd|calc', data: { reason: '=1+1' } })], en);
  const [header, line] = csv.trimEnd().split('\r\n');
  assert.equal(header, 'time (UTC),event,what happened,by,member,app,ip');
  assert.ok(line!.split(',').every((c) => !/^[=+\-@]/.test(c)), `no cell starts a formula: ${line}`);
  assert.match(line!, /"'=cmd\|calc"/);
});
