// The sign-in and forgot-password forms: an empty or malformed field is said beside it, every one at once, before
// any account is looked up; a wrong email or password is one message above the form, beside neither field.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn, type Page } from '../helpers/http-browser.ts';
import { startServer } from '../helpers/server.ts';

/** the text of the error beside a field (`<id>-error`), or null */
const fieldError = (p: Page, id: string) => new RegExp(`<p class="field-error" id="${id}-error">([^<]*)</p>`).exec(p.body)?.[1] ?? null;
const inputTag = (p: Page, id: string) => new RegExp(`<input id="${id}"[^>]*>`).exec(p.body)![0];
const formAlert = (p: Page) => /<div class="alert" role="alert" id="form-error">([^<]*)<\/div>/.exec(p.body)?.[1] ?? null;

async function signInPost(issuer: string, fields: { email: string; password: string }, headers: Record<string, string> = {}) {
  const b = new HttpBrowser();
  const login = await b.get(`${issuer}/account`);
  const f = formOn(login, '/login');
  return b.request(f.action, { form: { ...f.fields, ...fields }, headers });
}

test('sign-in form: an empty email and an empty password are each said beside their field, at once; a malformed address too', async (t) => {
  const s = await startServer(t);
  const empty = await signInPost(s.issuer, { email: '', password: '' });
  assert.equal(empty.status, 400);
  assert.equal(fieldError(empty, 'email'), 'Enter your email address.');
  assert.equal(fieldError(empty, 'password'), 'Enter your password.');
  assert.equal(formAlert(empty), null, 'nothing above the form');
  assert.match(inputTag(empty, 'email'), /aria-invalid="true" aria-describedby="email-error"/);
  assert.match(inputTag(empty, 'password'), /aria-invalid="true" aria-describedby="password-error"/);

  const malformed = await signInPost(s.issuer, { email: 'ann.example.com', password: 'a password typed' });
  assert.equal(malformed.status, 400);
  assert.equal(fieldError(malformed, 'email'), 'Enter a valid email address.');
  assert.equal(fieldError(malformed, 'password'), null);
  assert.match(inputTag(malformed, 'email'), /value="ann.example.com"/, 'what was typed stays');

  const german = await signInPost(s.issuer, { email: 'ann@', password: '' }, { 'accept-language': 'de' });
  assert.equal(fieldError(german, 'email'), 'Geben Sie eine gültige E-Mail-Adresse ein.');
  assert.equal(fieldError(german, 'password'), 'Geben Sie Ihr Passwort ein.');

  // field checks look at what was typed only: they are no password guess (no wrong-password counter moves)
  const counters = await s.services.db.selectFrom('throttles').select('key').where('key', 'like', 'pwd:%').execute();
  assert.deepEqual(counters, []);
});

test('sign-in-error-names-neither-field: a wrong password and an unknown address give one message above the form, no field marked', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const wrong = await signInPost(s.issuer, { email: user.email, password: 'not the password at all' });
  const unknown = await signInPost(s.issuer, { email: 'nobody-here@example.com', password: 'not the password at all' });
  for (const p of [wrong, unknown]) {
    assert.equal(p.status, 401);
    assert.equal(formAlert(p), 'Incorrect email or password.');
    assert.equal(fieldError(p, 'email'), null);
    assert.equal(fieldError(p, 'password'), null);
    assert.doesNotMatch(p.body, /aria-invalid/, 'neither field is marked wrong');
    assert.match(inputTag(p, 'email'), /aria-describedby="form-error"/);
    assert.match(inputTag(p, 'password'), /aria-describedby="form-error"/);
  }
  // (a real guess, unlike a form with an empty field: it counts)
  const counted = await s.services.db.selectFrom('throttles').select('key').where('key', 'like', 'pwd:%').execute();
  assert.ok(counted.length > 0, 'a wrong password counts as a guess');
});

test('forgot-password form: an empty or malformed address is said beside the field and nothing is mailed', async (t) => {
  const s = await startServer(t);
  const b = new HttpBrowser();
  const send = async (email: string, headers: Record<string, string> = {}) => {
    const f = formOn(await b.get(`${s.issuer}/forgot-password`), '/forgot-password');
    return b.request(f.action, { form: { ...f.fields, email }, headers });
  };
  const empty = await send('   ');
  assert.equal(empty.status, 400);
  assert.equal(fieldError(empty, 'email'), 'Enter your email address.');
  assert.match(inputTag(empty, 'email'), /aria-invalid="true" aria-describedby="email-error"/);
  const malformed = await send('ann@example');
  assert.equal(malformed.status, 400);
  assert.equal(fieldError(malformed, 'email'), 'Enter a valid email address.');
  assert.equal(fieldError(await send('', { 'accept-language': 'de' }), 'email'), 'Geben Sie Ihre E-Mail-Adresse ein.');
  assert.deepEqual(await s.services.db.selectFrom('email_outbox').select('id').execute(), []);
  const fine = await send('nobody-here@example.com');
  assert.equal(fine.status, 200, 'a well-formed address gets the usual answer');
  assert.match(fine.body, /Check your email/);
});
