// Branding from configuration, the language switcher, ui_locales in discovery, and mail in the recipient's language.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn } from '../helpers/http-browser.ts';
import { authorizationRequest, discover, signInOverHttp } from '../helpers/rp.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { enrollTotp } from '../helpers/totp.ts';

const LOGO_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="#6b21a8"/></svg>';

function brandEnv(): Record<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-brand-'));
  writeFileSync(path.join(dir, 'logo.svg'), LOGO_SVG);
  return {
    GATEHOUSE_BRAND_NAME: 'Acme ID',
    GATEHOUSE_BRAND_LOGO: path.join(dir, 'logo.svg'),
    GATEHOUSE_BRAND_COLOR: '#6b21a8',
    GATEHOUSE_BRAND_SUPPORT_URL: 'https://help.acme.example/sign-in',
    GATEHOUSE_BRAND_FOOTER: 'Acme Corp. internal sign-in',
  };
}

async function signedIn(s: TestServer, existing?: Awaited<ReturnType<typeof makeUser>>) {
  const user = existing ?? (await makeUser(s.services));
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const browser = new HttpBrowser();
  const r = await signInOverHttp(browser, (await authorizationRequest(config, client.redirectUri)).url, client.redirectUri, user);
  assert.ok(r.callbackUrl, 'signed in');
  return { user, browser };
}

test('discovery advertises ui_locales_supported: the languages with a complete catalogue', async (t) => {
  const s = await startServer(t);
  const meta = (await (await fetch(`${s.issuer}/.well-known/openid-configuration`)).json()) as { ui_locales_supported?: string[] };
  assert.deepEqual(meta.ui_locales_supported, ['en', 'de']);
});

test('the brand from configuration: name, logo from our origin, colour as a CSS custom property, support link and footer', async (t) => {
  const s = await startServer(t, { env: brandEnv() });
  const home = await (await fetch(`${s.issuer}/`)).text();
  assert.match(home, /<title>Acme ID · Acme ID<\/title>/);
  assert.match(home, /<img class="brand-logo" src="\/brand\/logo.svg"/);
  assert.match(home, /Acme Corp. internal sign-in/);
  assert.match(home, /<a href="https:\/\/help.acme.example\/sign-in">Help and support<\/a>/);
  assert.doesNotMatch(home, /Gatehouse/, 'the product name is the brand everywhere on the page');

  const css = await fetch(`${s.issuer}/brand/theme.css`);
  assert.match(css.headers.get('content-type')!, /^text\/css/);
  const body = await css.text();
  assert.match(body, /--primary: #6b21a8;/);
  assert.match(body, /prefers-color-scheme: dark/);

  const logo = await fetch(`${s.issuer}/brand/logo.svg`);
  assert.equal(logo.headers.get('content-type'), 'image/svg+xml');
  assert.match(logo.headers.get('content-security-policy')!, /sandbox/, 'an SVG opened on its own runs no script in our origin');
  assert.equal(await logo.text(), LOGO_SVG);
});

test('POST /locale sets the language cookie and returns to the same-origin page it came from', async (t) => {
  const s = await startServer(t);
  const browser = new HttpBrowser();
  const english = await browser.get(`${s.issuer}/`);
  assert.match(english.body, /<html lang="en">/);
  const switched = await browser.request(`${s.issuer}/locale`, { form: { locale: 'de', return: '/' }, headers: { origin: s.issuer } });
  assert.equal(switched.status, 303);
  assert.equal(switched.headers.get('location'), '/');
  const german = await browser.get(`${s.issuer}/`);
  assert.match(german.body, /<html lang="de">/);
  assert.match(german.body, /Geschützt durch Gatehouse/);
  assert.match(german.body, /<option value="de" lang="de" selected>Deutsch<\/option>/);
});

test('error pages and the provider\'s own pages speak the browser\'s language', async (t) => {
  const s = await startServer(t);
  const r = await fetch(`${s.issuer}/no-such-page`, { headers: { accept: 'text/html', 'accept-language': 'de' } });
  assert.equal(r.status, 404);
  const body = await r.text();
  assert.match(body, /<h1>Nicht gefunden<\/h1>/);
  assert.match(body, /Unter dieser Adresse gibt es nichts\./);

  // the provider's own pages (rendered inside oidc-provider) follow the request's language too
  const device = await (await fetch(`${s.issuer}/oidc/device`, { headers: { 'accept-language': 'de' } })).text();
  assert.match(device, /<html lang="de">/);
  assert.match(device, /<h1>Gerät verbinden<\/h1>/);
});

test('POST /locale never redirects off our origin and refuses unknown languages and cross-site posts', async (t) => {
  const s = await startServer(t);
  const post = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${s.issuer}/locale`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
  for (const target of ['//evil.example/', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
    const r = await post({ locale: 'de', return: target });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/', `${target} is replaced by /`);
  }
  assert.equal((await post({ locale: 'xx' })).status, 400);
  assert.equal((await post({})).status, 400);
  const crossSite: Record<string, string>[] = [{ origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site', origin: 'null' }, { 'sec-fetch-site': 'same-site' }];
  for (const headers of crossSite) {
    const cross = await post({ locale: 'de' }, headers);
    assert.equal(cross.status, 403, JSON.stringify(headers));
    assert.equal(cross.headers.get('set-cookie'), null, 'a cross-site post changes nothing');
  }
  assert.equal((await post({ locale: 'de' }, { 'sec-fetch-site': 'same-origin', origin: 'null' })).status, 303, 'our own pages post with Origin: null (no-referrer)');
});

test('signed in, the switcher saves the preference: pages on another browser and mail follow it', async (t) => {
  const s = await startServer(t);
  const { user, browser } = await signedIn(s);
  await browser.request(`${s.issuer}/locale`, { form: { locale: 'de', return: '/account' }, headers: { origin: s.issuer } });
  const row = await s.services.db.selectFrom('users').select('locale').where('id', '=', user.id).executeTakeFirstOrThrow();
  assert.equal(row.locale, 'de');

  // mail to this user is written in German (the recipient's preference, not the sender's browser)
  await s.services.accounts.requestPasswordReset(user.email, { ip: '127.0.0.1' });
  const mail = await s.services.db.selectFrom('email_outbox').select(['subject', 'text_body', 'html_body']).where('to_address', '=', user.email).orderBy('id', 'desc').executeTakeFirstOrThrow();
  assert.equal(mail.subject, 'Ihr Gatehouse-Passwort zurücksetzen');
  assert.match(mail.text_body, /^Hallo Test User,/);
  assert.match(mail.text_body, /läuft in 1 Stunde ab/);
  assert.match(mail.html_body, /<html lang="de">/);

  // another browser, English by its Accept-Language: once signed in, the account page is German
  const other = await signedIn(s, user);
  const account = await other.browser.request(`${s.issuer}/account`, { headers: { 'accept-language': 'en' } });
  assert.match(account.body, /<html lang="de">/);

  // a security notice is written from its event's catalogue entry
  await enrollTotp(s.services, user);
  const notice = await s.services.db.selectFrom('email_outbox').select(['subject', 'text_body']).where('to_address', '=', user.email).orderBy('id', 'desc').executeTakeFirstOrThrow();
  assert.equal(notice.subject, 'Gatehouse-Sicherheitshinweis: Zwei-Faktor-Authentifizierung eingeschaltet');
  assert.match(notice.text_body, /Für Ihr Konto wurde die Zwei-Faktor-Authentifizierung eingeschaltet\./);
});

test('mail to a user without a preference is in English', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  await s.services.accounts.requestPasswordReset(user.email, { ip: '127.0.0.1' });
  const mail = await s.services.db.selectFrom('email_outbox').select(['subject', 'text_body']).where('to_address', '=', user.email).executeTakeFirstOrThrow();
  assert.equal(mail.subject, 'Reset your Gatehouse password');
  assert.match(mail.text_body, /expires in 1 hour\./);
});

test('per app: the sign-in and consent pages link its privacy policy and terms, and show its logo only from our own origin', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const setMetadata = async (clientId: string, extra: Record<string, string>) => {
    const row = await s.services.db.selectFrom('oidc_clients').select('metadata').where('client_id', '=', clientId).executeTakeFirstOrThrow();
    const metadata = { ...(typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata), ...extra };
    await s.services.db.updateTable('oidc_clients').set({ metadata: JSON.stringify(metadata) }).where('client_id', '=', clientId).execute();
  };
  const links = { policy_uri: 'https://partner.example/privacy', tos_uri: 'https://partner.example/terms' };

  // a logo on the app's own server: the name and links are shown, the image is not loaded
  const foreign = await makeClient(s.services, { name: 'Partner App', firstParty: false });
  await setMetadata(foreign.clientId, { ...links, logo_uri: 'https://partner.example/logo.png' });
  const browser = new HttpBrowser();
  const signIn = await signInOverHttp(browser, (await authorizationRequest(await discover(s.issuer, foreign), foreign.redirectUri)).url, foreign.redirectUri);
  assert.match(signIn.page.body, /<strong>Partner App<\/strong>/);
  assert.match(signIn.page.body, /<a href="https:\/\/partner.example\/privacy"[^>]*>Privacy policy of Partner App<\/a>/);
  assert.match(signIn.page.body, /<a href="https:\/\/partner.example\/terms"[^>]*>Terms of Partner App<\/a>/);
  assert.doesNotMatch(signIn.page.body, /partner.example\/logo.png/, 'nothing is loaded from a third party');

  // the consent page (the app is not first-party) names the app and links the same documents
  const b = new HttpBrowser();
  const atCallback = (u: string) => u.startsWith(foreign.redirectUri);
  let page = await b.get((await authorizationRequest(await discover(s.issuer, foreign), foreign.redirectUri)).url, atCallback);
  const login = formOn(page, '/login');
  page = await b.follow(await b.request(login.action, { form: { ...login.fields, email: user.email, password: user.password } }), atCallback);
  assert.match(page.body, /Allow access\?/);
  assert.match(page.body, /<strong>Partner App<\/strong> would like to:/);
  assert.match(page.body, /Privacy policy of Partner App/);
  assert.match(page.body, /Terms of Partner App/);
  assert.doesNotMatch(page.body, /partner.example\/logo.png/);

  // a logo on our own origin is ours to show (oidc-provider accepts only web addresses as logo_uri, so data: cannot come)
  const own = await makeClient(s.services, { name: 'Own Logo App' });
  const ownLogo = `${s.issuer}/static/app-logos/own.png`;
  await setMetadata(own.clientId, { logo_uri: ownLogo });
  const withLogo = await signInOverHttp(new HttpBrowser(), (await authorizationRequest(await discover(s.issuer, own), own.redirectUri)).url, own.redirectUri);
  assert.ok(withLogo.page.body.includes(`<img class="client-logo" src="${ownLogo}"`), 'a logo from our origin is shown');
});
