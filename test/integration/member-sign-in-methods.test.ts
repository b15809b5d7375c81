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
