// Recovery codes that can be viewed again: after the password and a second factor, audited and mailed; sealed at rest
// with the secret box (user-bound AAD) beside the hash sign-in checks; gone from the database when viewing is
// switched off. Also: bad WebAuthn input gets a 4xx, and challenges are single-use and expire.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storeChallenge, takeChallenge } from '../../src/domain/mfa/webauthn/challenges.ts';
import { dumpDatabase } from '../helpers/db-dump.ts';
import { makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn, type Page } from '../helpers/http-browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';
import { newDatabase } from '../helpers/db.ts';

const CODE_LI = /<li><code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){5})<\/code><\/li>/g;

async function accountSession(s: TestServer, user: { email: string; password: string }, code: () => string): Promise<{ browser: HttpBrowser; page: Page }> {
  const browser = new HttpBrowser();
  const page = await signInOnPage(browser, await browser.get(`${s.issuer}/account`), user, code);
  assert.equal(page.url, `${s.issuer}/account`, page.body.slice(0, 300));
  return { browser, page };
}

async function post(browser: HttpBrowser, page: Page, action: string, fields: Record<string, string>) {
  const f = formOn(page, action);
  return browser.request(f.action, { form: { ...f.fields, ...fields } });
}

test('recovery-codes-viewable-after-reauthentication: password + second factor, audited and mailed; a used code is not shown', async (t) => {
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const totp = await enrollTotp(s.services, user, clock.now());
  clock.advance(30);
  const { browser, page } = await accountSession(s, user, () => codeFor(totp.secret, clock.now()));
  assert.match(page.body, /View your recovery codes/);
  const viewed = () => s.services.db.selectFrom('audit_events').select('id').where('target_user_id', '=', user.id).where('event', '=', 'recovery_codes.viewed').execute();

  const wrongPassword = await post(browser, page, '/account/2fa/recovery-codes/view', { password: 'not the password at all', code: codeFor(totp.secret, clock.now()) });
  assert.equal(wrongPassword.status, 403);
  assert.equal([...wrongPassword.body.matchAll(CODE_LI)].length, 0);
  const noFactor = await post(browser, page, '/account/2fa/recovery-codes/view', { password: user.password, code: '000000' });
  assert.equal(noFactor.status, 403);
  const garbage = await post(browser, page, '/account/2fa/recovery-codes/view', { password: user.password, assertion: '{"not":"a credential"' });
  assert.equal(garbage.status, 403, 'a malformed security key answer is a wrong second factor, not a 500');
  assert.equal((await viewed()).length, 0);

  // a recovery code as the second factor: it is spent, and the other nine are shown
  const shown = await post(browser, page, '/account/2fa/recovery-codes/view', { password: user.password, code: totp.recoveryCodes[0]!.toLowerCase() });
  assert.equal(shown.status, 200, shown.body.slice(0, 300));
  assert.equal(shown.headers.get('cache-control'), 'no-store');
  const codes = [...shown.body.matchAll(CODE_LI)].map((m) => m[1]!);
  assert.deepEqual(codes, totp.recoveryCodes.slice(1).sort());
  assert.match(shown.body, /download="gatehouse-recovery-codes.txt"/);
  assert.equal((await viewed()).length, 1);
  const mail = await s.services.db.selectFrom('email_outbox').select(['subject', 'text_body']).where('to_address', '=', user.email).execute();
  assert.ok(mail.some((m) => /recovery codes viewed/.test(m.subject) && !codes.some((c) => m.text_body.includes(c))), 'mailed, without the codes');
});

test('recovery-codes-not-viewable-when-switched-off: sealed copies are dropped at start, new codes keep only the hash, viewing is 404', async (t) => {
  const clock = fixedClock(stepStart());
  const db = await newDatabase();
  const first = await startServer(t, { clock, databaseUrl: db.url });
  const user = await makeUser(first.services);
  const totp = await enrollTotp(first.services, user, clock.now());
  const sealed = await first.services.db.selectFrom('recovery_codes').select('code_sealed').where('user_id', '=', user.id).execute();
  assert.ok(sealed.length === 10 && sealed.every((r) => r.code_sealed), 'viewable by default: each code has a sealed copy');
  await first.close();

  const s = await startServer(t, { clock, databaseUrl: db.url, env: { GATEHOUSE_RECOVERY_CODES_VIEWABLE: 'false' } });
  t.after(() => db.drop()); // after-hooks run in order: the servers close first
  const left = await s.services.db.selectFrom('recovery_codes').select('code_sealed').where('user_id', '=', user.id).execute();
  assert.equal(left.length, 10, 'the codes still work');
  assert.ok(left.every((r) => r.code_sealed === null), 'only the hashes are kept');
  clock.advance(30);
  const { browser, page } = await accountSession(s, user, () => codeFor(totp.secret, clock.now()));
  assert.doesNotMatch(page.body, /View your recovery codes/);
  const f = formOn(page, '/account/2fa/recovery-codes');
  const refused = await browser.request(`${s.issuer}/account/2fa/recovery-codes/view`, { form: { _csrf: f.fields._csrf!, password: user.password, code: totp.recoveryCodes[1]! } });
  assert.equal(refused.status, 404);
  assert.equal([...refused.body.matchAll(CODE_LI)].length, 0);
  // new codes: hashes only
  clock.advance(30);
  const fresh = await post(browser, page, '/account/2fa/recovery-codes', { password: user.password, code: codeFor(totp.secret, clock.now()) });
  assert.equal(fresh.status, 200);
  const rows = await s.services.db.selectFrom('recovery_codes').select('code_sealed').where('user_id', '=', user.id).execute();
  assert.ok(rows.length === 10 && rows.every((r) => r.code_sealed === null));
});

test('no-plaintext-recovery-code-at-rest: a database dump holds no code; the sealed copies open only for their user', async (t) => {
  const s = await startServer(t);
  const [alice, bob] = [await makeUser(s.services), await makeUser(s.services)];
  const a = await enrollTotp(s.services, alice);
  await enrollTotp(s.services, bob);
  const dump = await dumpDatabase(s.services.db);
  assert.ok(dump.includes(alice.email), 'the dump is real');
  for (const code of a.recoveryCodes) {
    for (const form of [code, code.replace(/-/g, ''), code.toLowerCase()]) assert.ok(!dump.includes(form), `${form} is not stored as such`);
  }
  // each sealed copy is bound to its user (and batch): moved to another user's row, it does not open
  const [row] = await s.services.db.selectFrom('recovery_codes').select(['code_sealed', 'batch_id']).where('user_id', '=', alice.id).execute();
  assert.match(row!.code_sealed!, /^v1\.t1\./, 'AES-256-GCM with the key id');
  assert.ok(a.recoveryCodes.includes(s.services.box.open(row!.code_sealed!, `recovery-code:${alice.id}:${row!.batch_id}`).toString('utf8')));
  assert.throws(() => s.services.box.open(row!.code_sealed!, `recovery-code:${bob.id}:${row!.batch_id}`));
});

test('webauthn-bad-input-is-4xx: malformed ceremonies get a clear 4xx, never a 500; challenges are single-use and expire', async (t) => {
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock, issuerHost: 'localhost' });
  const user = await makeUser(s.services);
  const totp = await enrollTotp(s.services, user, clock.now());
  clock.advance(30);
  const { browser, page } = await accountSession(s, user, () => codeFor(totp.secret, clock.now()));
  const csrf = formOn(page, '/account/security-keys/new').fields._csrf!;
  const postJson = (path: string, form: Record<string, string>) => browser.request(`${s.issuer}${path}`, { form: { _csrf: csrf, ...form } });
  for (const response of ['', 'x', '{', '{"id":1}', JSON.stringify({ id: 'a', rawId: 'a', type: 'public-key', response: {} }), 'A'.repeat(40_000)]) {
    const r = await postJson('/account/security-keys/register', { response });
    assert.ok(r.status >= 400 && r.status < 500, `register ${JSON.stringify(response.slice(0, 20))}: ${r.status}`);
    const a = await postJson('/account/security-keys/activate', { response });
    assert.ok(a.status >= 400 && a.status < 500, `activate: ${a.status}`);
  }
  const noKey = await postJson('/account/security-keys/challenge', {});
  assert.equal(noKey.status, 404);
  assert.match(noKey.body, /no_security_key/);

  // inside a sign-in: the key step and the passkey door with junk
  const other = new HttpBrowser();
  const login = await other.get(`${s.issuer}/account`);
  const uid = /\/interaction\/([^/"]+)\/login/.exec(login.body)![1]!;
  const lf = formOn(login, '/login');
  for (const path of [`/interaction/${uid}/passkey`, `/interaction/${uid}/security-key`, `/interaction/${uid}/security-key/enroll`, `/interaction/${uid}/security-key/enroll/register`]) {
    for (const response of ['{', JSON.stringify({ id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } })]) {
      const r = await other.request(`${s.issuer}${path}`, { form: { _csrf: lf.fields._csrf!, response } });
      assert.ok(r.status >= 300 && r.status < 500, `${path}: ${r.status}`);
    }
  }
  const missing = await other.request(`${s.issuer}/interaction/${uid}/passkey`, { form: { _csrf: lf.fields._csrf! } });
  assert.equal(missing.status, 400);

  // single use, five minutes
  await storeChallenge(s.services.db, clock, { binding: 'b1', purpose: 'passkey', userId: null, challenge: 'c1' });
  assert.equal((await takeChallenge(s.services.db, clock, 'b1', 'passkey'))?.challenge, 'c1');
  assert.equal(await takeChallenge(s.services.db, clock, 'b1', 'passkey'), null, 'taken once');
  await storeChallenge(s.services.db, clock, { binding: 'b2', purpose: 'passkey', userId: null, challenge: 'c2' });
  clock.advance(301);
  assert.equal(await takeChallenge(s.services.db, clock, 'b2', 'passkey'), null, 'expired after five minutes');
  await storeChallenge(s.services.db, clock, { binding: 'b3', purpose: 'passkey', userId: null, challenge: 'old' });
  await storeChallenge(s.services.db, clock, { binding: 'b3', purpose: 'passkey', userId: null, challenge: 'new' });
  assert.equal((await takeChallenge(s.services.db, clock, 'b3', 'passkey'))?.challenge, 'new', 'asking again replaces the live challenge');
});
