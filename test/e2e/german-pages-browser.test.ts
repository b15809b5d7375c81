// The reworked pages in German (Accept-Language: de): /join, /account, the console's members and audit log. Their
// words, dates and audit sentences come from the German catalogue; screenshots at desktop and phone sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser, PASSWORD } from '../helpers/factories.ts';
import { outboxLink as linkTo } from '../helpers/outbox.ts';
import { startServer } from '../helpers/server.ts';
import { daysFrom } from '../helpers/totp.ts';
import { formatDate } from '../../src/i18n/catalogue.ts';


test('German pages: /join, /account, console members and audit log speak German, with German dates and audit sentences', async (t) => {
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  await page.setExtraHTTPHeaders({ 'accept-language': 'de-DE,de;q=0.9' });
  const s = await startServer(t);
  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const owner = await makeUser(s.services, { name: 'Olga Owner' });
  await s.services.tenants.addMember(tenant, owner.email, 'owner', null);
  const erin = await makeUser(s.services, { name: 'Erin Existing' });
  await s.services.tenants.addMember(tenant, erin.email, 'admin', owner.id);
  await s.services.tenants.addMember(tenant, 'neu@example.com', 'member', owner.id);

  await page.goto(`${s.issuer}/account`);
  await page.getByLabel('E-Mail', { exact: true }).fill(owner.email);
  await page.getByLabel('Passwort', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await page.getByRole('heading', { name: 'Ihr Konto', level: 1 }).waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'de');
  await page.getByRole('heading', { name: 'Wo Sie angemeldet sind' }).waitFor();
  assert.match(await page.locator('#security-activity').innerText(), /hat sich bei der Kontoseite mit Passwort angemeldet/);
  await shoot(page, 'i18n-account-de');

  // a rollout with a date, so the invitation names it
  const from = daysFrom(new Date(), 14);
  await s.services.tenants.updatePolicy(tenant, { require2fa: true, enforceFrom: from }, owner.id);
  await page.goto(await linkTo(s, erin.email, '/join'));
  await page.getByRole('heading', { name: 'Acme Inc beitreten', level: 1 }).waitFor();
  const join = await page.locator('main .invitation').innerText();
  assert.match(join, /hat Sie eingeladen, Acme Inc als Admin beizutreten\./);
  assert.ok(join.includes(`ab dem ${formatDate(from, 'de', 'long')} Zwei-Faktor-Authentifizierung verlangen`), join);
  await shoot(page, 'i18n-join-de');

  await page.goto(`${s.issuer}/admin/acme`);
  await page.getByRole('heading', { name: 'Mitglieder' }).waitFor();
  const members = await page.locator('main').innerText();
  assert.match(members, /Eingeladen/);
  assert.match(members, /Jemanden einladen/);
  await shoot(page, 'i18n-members-de');

  await page.goto(`${s.issuer}/admin/acme/audit`);
  await page.getByRole('heading', { name: 'Protokoll', level: 1 }).waitFor();
  const audit = await page.locator('.audit-events').innerText();
  assert.match(audit, /Olga Owner hat Erin Existing zu Acme Inc als Admin hinzugefügt|Olga Owner hat Erin Existing zu Acme Inc als Admin eingeladen/);
  await shoot(page, 'i18n-audit-de');
});
