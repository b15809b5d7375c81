// "Sign out everywhere else" on /account ends every other session of the user and keeps this browser's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn } from '../helpers/http-browser.ts';
import { startServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';

test('sign out everywhere else ends the other sessions and keeps this browser signed in', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const other = await makeUser(s.services);
  const signedIn = async (u: { email: string; password: string }) => {
    const b = new HttpBrowser();
    const page = await signInOnPage(b, await b.get(`${s.issuer}/account`), u);
    assert.equal(page.url, `${s.issuer}/account`);
    return { b, page };
  };
  const laptop = await signedIn(user);
  const phone = await signedIn(user);
  const stranger = await signedIn(other);
  const here = await laptop.b.get(`${s.issuer}/account`);
  assert.equal((here.body.match(/class="device-name"/g) ?? []).length, 2);
  const f = formOn(here, '/account/sessions/revoke-others');
  const res = await laptop.b.request(f.action, { form: f.fields });
  assert.equal(res.headers.get('location'), '/account?done=others_signed_out');
  const after = await laptop.b.follow(res);
  assert.equal(after.status, 200, 'this browser stays signed in');
  assert.match(after.body, /You were signed out everywhere else/);
  assert.doesNotMatch(after.body, /Sign out everywhere else<\/button>/, 'nothing else to sign out');
  const phoneNow = await phone.b.request(`${s.issuer}/account`);
  assert.equal(phoneNow.status, 303, 'the other session ended');
  assert.equal((await stranger.b.request(`${s.issuer}/account`)).status, 200, "another person's session is untouched");
  const audit = await s.services.db.selectFrom('audit_events').select('data').where('event', '=', 'session.revoked').where('target_user_id', '=', user.id).execute();
  assert.deepEqual(audit.map((a) => a.data), [{ others: 1 }]);
});
