// Device authorization grant (RFC 8628) for CLIs: the approval goes through the same sign-in and 2FA rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeUser } from '../helpers/factories.ts';
import { formOn, type Page } from '../helpers/http-browser.ts';
import { HttpBrowser, discover, oidc } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock } from '../helpers/totp.ts';
import { breakInserts } from '../helpers/faults.ts';

async function deviceClient(s: TestServer) {
  const c = await s.services.clients.create({ name: 'Gatehouse CLI', public: true, grantTypes: ['device_code', 'refresh_token'] });
  return discover(s.issuer, { clientId: c.clientId });
}

/** the person at a browser: enter the user code, sign in (password, then the code if asked), approve */
async function approve(s: TestServer, browser: HttpBrowser, verificationUri: string, userCode: string, user: { email: string; password: string }, totp?: () => string): Promise<Page> {
  const input = await browser.get(verificationUri);
  assert.match(input.body, /Connect a device/);
  const f = formOn(input, '/oidc/device');
  let page = await browser.follow(await browser.request(f.action, { form: { ...f.fields, user_code: userCode } }));
  assert.match(page.body, new RegExp(userCode), 'the confirmation page shows the code to compare');
  const confirm = formOn(page, '/oidc/device');
  page = await browser.follow(await browser.request(confirm.action, { form: confirm.fields }));
  const login = formOn(page, '/login');
  page = await browser.follow(await browser.request(login.action, { form: { ...login.fields, email: user.email, password: user.password } }));
  if (page.url.endsWith('/totp')) {
    const t = formOn(page, '/totp');
    page = await browser.follow(await browser.request(t.action, { form: { ...t.fields, code: totp!() } }));
  }
  if (page.body.includes('/consent"')) {
    // a third-party CLI asks for consent like any app
    const c = formOn(page, '/consent');
    page = await browser.follow(await browser.request(c.action, { form: c.fields }));
  }
  return page;
}

test('device flow: a CLI gets tokens after the user approves in a browser; amr reflects the sign-in', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const config = await deviceClient(s);
  const auth = await oidc.initiateDeviceAuthorization(config, { scope: 'openid offline_access' });
  assert.match(auth.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/, '8 letters of the base-20 alphabet');
  const done = await approve(s, new HttpBrowser(), auth.verification_uri, auth.user_code, user);
  assert.match(done.body, /Device connected/);
  const tokens = await oidc.pollDeviceAuthorizationGrant(config, { ...auth, interval: 0.1 } as typeof auth);
  assert.equal(tokens.claims()!.sub, user.id);
  assert.deepEqual(tokens.claims()!.amr, ['pwd']);
});

test('device flow under a 2FA requirement: approval needs the second factor; the device gets mfa tokens', async (t) => {
  const clock = fixedClock();
  const s = await startServer(t, { clock });
  const tenant = await s.services.tenants.create({ slug: 'corp', name: 'Corp' });
  const user = await makeUser(s.services);
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true }, null);
  const e = await enrollTotp(s.services, user, clock.now());
  clock.advance(30);
  const config = await deviceClient(s);
  const auth = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
  await approve(s, new HttpBrowser(), auth.verification_uri, auth.user_code, user, () => codeFor(e.secret, clock.now()));
  const tokens = await oidc.pollDeviceAuthorizationGrant(config, { ...auth, interval: 0.1 } as typeof auth);
  assert.equal(tokens.claims()!.acr, 'urn:gatehouse:acr:mfa');
});

test('device flow: a wrong user code is refused with a clear message', async (t) => {
  const s = await startServer(t);
  await deviceClient(s);
  const browser = new HttpBrowser();
  const input = await browser.get(`${s.issuer}/oidc/device`);
  const f = formOn(input, '/oidc/device');
  const page = await browser.follow(await browser.request(f.action, { form: { ...f.fields, user_code: 'BCDF-GHJK' } }));
  assert.match(page.body, /That code is not right/);
});

test('device-sign-in-survives-a-database-fault: the device code, its grant, its session and the interaction are written together or not at all; the browser retries and the device gets its tokens', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  // first-party: no consent, so the return after the password also saves the grant
  const c = await s.services.clients.create({ name: 'Gatehouse CLI', public: true, firstParty: true, grantTypes: ['device_code'] });
  const config = await discover(s.issuer, { clientId: c.clientId });
  const auth = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
  const browser = new HttpBrowser();
  const f = formOn(await browser.get(auth.verification_uri), '/oidc/device');
  let page = await browser.follow(await browser.request(f.action, { form: { ...f.fields, user_code: auth.user_code } }));
  const confirm = formOn(page, '/oidc/device');
  page = await browser.follow(await browser.request(confirm.action, { form: confirm.fields }));
  const login = formOn(page, '/login');
  const afterPassword = await browser.request(login.action, { form: { ...login.fields, email: user.email, password: user.password } });
  assert.equal(afterPassword.status, 303);
  const back = new URL(afterPassword.headers.get('location')!, s.issuer).toString();
  const poll = async () => {
    const res = await fetch(`${s.issuer}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: auth.device_code, client_id: c.clientId }),
    });
    return (await res.json()) as { error?: string; id_token?: string };
  };

  const restore = await breakInserts(s, 'Session');
  const failed = await browser.request(back);
  assert.equal(failed.status, 503, 'the approval fails closed');
  assert.equal((await poll()).error, 'authorization_pending', 'the device still waits: no device code was approved without its grant and session');
  await restore();

  const done = await browser.follow(await browser.request(back));
  assert.match(done.body, /Device connected/, 'the browser retried the same step');
  assert.ok((await poll()).id_token, 'the device got its tokens');
});
