// The federation pages in Chromium, at desktop and phone sizes: the sign-in page's "Continue with" button, the link
// page (and its error), the refusal pages, and the account page's linked providers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { startFederation, upstreamUser } from '../helpers/federation.ts';
import { authorizationRequest, discover } from '../helpers/rp.ts';

test('federation pages: sign-in button, link page, refusals, linked providers on /account', async (t) => {
  const setup = await startFederation(t, { upstreamHost: 'localhost' });
  const s = setup.gatehouse.services;
  const remote = await upstreamUser(setup, 'gil@example.com');
  await makeUser(s, { email: 'gil@example.com', password: 'gil has a long passphrase' });
  const client = await makeClient(s, { redirectUris: ['http://127.0.0.1:9/fed-callback'] });
  const rp = await discover(setup.gatehouse.issuer, client);

  const context = await launchBrowser(t);
  await context.route('http://127.0.0.1:9/**', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: '<p>app</p>' }));
  const page = await context.newPage();
  await page.goto((await authorizationRequest(rp, client.redirectUri)).url);
  await page.getByRole('button', { name: 'Continue with Corp SSO' }).waitFor();
  await shoot(page, 'federation-sign-in');

  await page.getByRole('button', { name: 'Continue with Corp SSO' }).click();
  await page.waitForURL(/localhost/);
  await page.getByLabel('Email').fill(remote.email);
  await page.getByLabel('Password').fill(remote.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(/\/federated\/link$/);
  await shoot(page, 'federation-link');

  await page.getByLabel(/Password for/).fill('not the right passphrase');
  await page.getByRole('button', { name: 'Sign in and link' }).click();
  await page.getByText('Incorrect password.').waitFor();
  await shoot(page, 'federation-link-error');

  await page.getByLabel(/Password for/).fill('gil has a long passphrase');
  await page.getByRole('button', { name: 'Sign in and link' }).click();
  await page.waitForURL(/127\.0\.0\.1:9\/fed-callback/);
  assert.equal((await s.db.selectFrom('upstream_links').selectAll().execute()).length, 1);

  await page.goto(`${setup.gatehouse.issuer}/account`);
  await page.getByRole('heading', { name: 'Linked sign-in providers' }).waitFor();
  await page.locator('#linked-providers summary').click();
  await shoot(page, 'federation-account-linked');

  // refusals: a method the app's organization does not allow (forced), and an answer that belongs to no sign-in
  const org = await s.tenants.create({ slug: 'pwd-only', name: 'Password Only Inc' });
  const orgClient = await makeClient(s, { tenantId: org.id, redirectUris: ['http://127.0.0.1:9/fed-callback'] });
  const other = await context.newPage();
  await other.goto((await authorizationRequest(await discover(setup.gatehouse.issuer, orgClient), orgClient.redirectUri, { prompt: 'login' })).url);
  assert.equal(await other.getByRole('button', { name: /Continue with/ }).count(), 0);
  await other.evaluate(() => {
    const login = document.querySelector<HTMLFormElement>('form[action$="/login"]')!;
    login.action = login.action.replace(/\/login$/, '/federated/corp');
    login.submit();
  });
  await other.getByRole('heading', { name: 'Sign-in method not allowed' }).waitFor();
  await shoot(other, 'federation-method-refused');
  await other.goto(`${setup.gatehouse.issuer}/federation/callback?code=x&state=${'A'.repeat(43)}`);
  await other.getByRole('heading', { name: 'Sign-in not recognised' }).waitFor();
  await shoot(other, 'federation-callback-unknown');
});
