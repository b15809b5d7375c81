// An organization that allows its members only upstream providers: the right password of a member goes no further,
// in the browser or in the terminal, and nothing is left that a later step could complete.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { formOn } from '../helpers/http-browser.ts';
import { HttpBrowser, authorizationRequest, discover, oidc } from '../helpers/rp.ts';
import { startServer } from '../helpers/server.ts';

test('member-method-restriction-refuses-passwords: a member of an organization allowing only an upstream cannot sign in with a password anywhere', async (t) => {
  const s = await startServer(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme' });
  const user = await makeUser(s.services);
  await s.services.tenants.addMember(tenant, user.email, 'member', null);
  await s.services.db.updateTable('tenants').set({ allowed_methods: ['corporate-sso'] }).where('id', '=', tenant.id).execute();
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);

  const browser = new HttpBrowser();
  const req = await authorizationRequest(config, client.redirectUri);
  const login = await browser.get(req.url);
  const f = formOn(login, '/login');
  const res = await browser.request(f.action, { form: { ...f.fields, email: user.email, password: user.password } });
  assert.equal(res.status, 403);
  assert.match(res.body, /Acme does not allow its members to sign in with a password/);
  assert.equal((await s.services.db.selectFrom('authn_transactions').select('uid').execute()).length, 0, 'no sign-in step left to complete');
  const audit = await s.services.db.selectFrom('audit_events').select('event').where('target_user_id', '=', user.id).where('event', '=', 'login.method_refused').execute();
  assert.equal(audit.length, 1);

  const cli = await s.services.clients.create({ name: 'CLI', public: true, firstParty: true, redirectUris: ['http://127.0.0.1/cli'], grantTypes: ['refresh_token'] });
  const verifier = oidc.randomPKCECodeVerifier();
  const terminal = await fetch(`${s.issuer}/oidc/authorize-challenge`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: cli.clientId, username: user.email, password: user.password, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }),
  });
  const body = (await terminal.json()) as { error: string; authorization_code?: string };
  assert.equal(body.error, 'redirect_to_web');
  assert.equal(body.authorization_code, undefined);
});

test('forced-password-form-refused-for-an-app-without-passwords: an app whose organization allows only an upstream refuses a forced password POST, before any hash', async (t) => {
  const s = await startServer(t);
  const tenant = await s.services.tenants.create({ slug: 'sso-only', name: 'SSO Only' });
  await s.services.db.updateTable('tenants').set({ allowed_methods: ['corporate-sso'] }).where('id', '=', tenant.id).execute();
  const user = await makeUser(s.services);
  const app = await makeClient(s.services, { tenantId: tenant.id });
  const other = await makeClient(s.services);
  const browser = new HttpBrowser();
  // the restricted app's sign-in (its page offers no password form), and a form token from another app's page
  const restricted = await browser.get((await authorizationRequest(await discover(s.issuer, app), app.redirectUri)).url);
  const uid = /\/interaction\/([^/?#"]+)/.exec(restricted.url)![1]!;
  const f = formOn(await browser.get((await authorizationRequest(await discover(s.issuer, other), other.redirectUri)).url), '/login');
  const verifies = () => s.services.db.selectFrom('audit_events').select('event').where('event', 'in', ['login.succeeded', 'login.failed']).execute();

  for (const password of [user.password, 'a wrong password for this test']) {
    const res = await browser.request(`${s.issuer}/interaction/${uid}/login`, { form: { ...f.fields, email: user.email, password } });
    assert.equal(res.status, 403);
    assert.match(res.body, /This app&#39;s organization does not allow signing in with a password|This app's organization does not allow signing in with a password/);
  }
  const empty = await browser.request(`${s.issuer}/interaction/${uid}/login`, { form: { ...f.fields, email: '', password: '' } });
  assert.equal(empty.status, 403, 'refused before the fields are judged too');
  assert.deepEqual(await verifies(), [], 'no password was checked');
  assert.equal((await s.services.db.selectFrom('authn_transactions').select('uid').execute()).length, 0);
});
