// Deep links survive sign-in: a page of ours that met a signed-out browser is where the sign-in ends, and only a
// same-origin path is ever followed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import { HttpBrowser } from '../helpers/http-browser.ts';
import { startServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';

test('deep link survives sign-in: /admin/acme/settings while signed out returns there after signing in', async (t) => {
  const s = await startServer(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const owner = await makeUser(s.services, { name: 'Olga Owner' });
  await s.services.tenants.addMember(tenant, owner.email, 'owner', null);

  const browser = new HttpBrowser();
  const first = await browser.request(`${s.issuer}/admin/acme/settings`);
  assert.equal(first.status, 303);
  assert.equal(first.headers.get('location'), '/account/sign-in?return=%2Fadmin%2Facme%2Fsettings');
  const login = await browser.follow(first);
  assert.doesNotMatch(login.url, /admin/, 'the return path is not sent to the provider: it rides in the signed state cookie');
  const landed = await signInOnPage(browser, login, owner);
  assert.equal(landed.url, `${s.issuer}/admin/acme/settings`);
  assert.equal(landed.status, 200);
  assert.match(landed.body, /<h1>Settings<\/h1>/);

  // the query string comes along too
  const fresh = new HttpBrowser();
  const audit = await fresh.get(`${s.issuer}/admin/acme/audit?event=login.`);
  const back = await signInOnPage(fresh, audit, owner);
  assert.equal(back.url, `${s.issuer}/admin/acme/audit?event=login.`);
});

test('deep link after sign-in refuses other origins: //evil, /\\evil, absolute URLs and control characters end on the account page', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  for (const evil of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/\t/evil.example', '/\n/evil.example', 'http:evil.example']) {
    const browser = new HttpBrowser();
    const login = await browser.get(`${s.issuer}/account/sign-in?return=${encodeURIComponent(evil)}`);
    assert.equal(login.status, 200, `${evil}: a bad return path is ignored, not an error`);
    const landed = await signInOnPage(browser, login, user, undefined);
    assert.equal(landed.url, `${s.issuer}/account`, `${JSON.stringify(evil)} ends on the account page`);
  }
});
