// The sign-in form carries the app's id as a hint, so that the password step reads the account and counts the guess
// while the interaction is still being read. The hint is the browser's word: the app's rules come from the
// interaction, whatever the form says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover } from '../helpers/rp.ts';
import { startServer } from '../helpers/server.ts';

test('client-hint-cannot-lift-an-apps-2fa-rule: a sign-in form naming another app still leads a user without 2FA to set it up for an app that requires it', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const strict = await makeClient(s.services, { requireMfa: true });
  const open = await makeClient(s.services);
  const browser = new HttpBrowser();
  const page = await browser.get((await authorizationRequest(await discover(s.issuer, strict), strict.redirectUri)).url);
  const f = formOn(page, '/login');
  assert.equal(f.fields.client_hint, strict.clientId, 'the page names its app');
  for (const hint of [open.clientId, 'no-such-app', '']) {
    const res = await browser.request(f.action, { form: { ...f.fields, client_hint: hint, email: user.email, password: user.password } });
    assert.equal(res.status, 303, `hint ${JSON.stringify(hint)}`);
    assert.match(res.headers.get('location') ?? '', /\/enroll$/, `hint ${JSON.stringify(hint)}: the strict app's rule holds`);
  }
});

test('sign-in-without-a-client-hint-works: a form without the hint (an older page) signs in as before', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const app = await makeClient(s.services);
  const browser = new HttpBrowser();
  const f = formOn(await browser.get((await authorizationRequest(await discover(s.issuer, app), app.redirectUri)).url), '/login');
  const { client_hint: _hint, ...fields } = f.fields;
  void _hint;
  const res = await browser.request(f.action, { form: { ...fields, email: user.email, password: user.password } });
  assert.equal(res.status, 303);
  assert.doesNotMatch(res.headers.get('location') ?? '', /\/interaction\//, 'on to the provider: the sign-in is done');
});

test('guess-on-a-dead-interaction-is-given-back: a password sent to a sign-in that has ended is not checked, and the guess counted beside its read is given back', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const app = await makeClient(s.services);
  const browser = new HttpBrowser();
  const f = formOn(await browser.get((await authorizationRequest(await discover(s.issuer, app), app.redirectUri)).url), '/login');
  // the sign-in ends before its form is sent (its lifetime ran out, or it was finished in another tab)
  await s.services.db.deleteFrom('oidc_payloads').where('model', '=', 'Interaction').execute();
  for (const password of ['a wrong password for this test', user.password]) {
    const res = await browser.request(f.action, { form: { ...f.fields, email: user.email, password } });
    assert.equal(res.status, 400, 'the sign-in has expired');
  }
  const counted = await s.services.db.selectFrom('throttles').select(['key', 'failures']).execute();
  assert.deepEqual(counted.filter((r) => r.failures > 0), [], 'no guess is left counted');
  const checked = await s.services.db.selectFrom('audit_events').select('event').where('event', 'in', ['login.succeeded', 'login.failed']).execute();
  assert.deepEqual(checked, [], 'no password was checked');
});
