// WCAG AA in both colour schemes: axe-core runs in Chromium on every page a sign-in, an enrollment, the account and
// the console reach, in light and in dark mode (prefers-color-scheme), and finds no serious or critical violation.
// Screenshots of the main pages at desktop and phone sizes in English, German and dark mode.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser, shoot } from '../helpers/browser.ts';
import { makeUser } from '../helpers/factories.ts';
import { relyingParty } from '../helpers/rp-listener.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { codeFor, enrollTotp, fixedClock, stepStart } from '../helpers/totp.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Finding {
  page: string;
  scheme: string;
  rule: string;
  impact: string;
  nodes: string[];
}

/**
 * axe-core's serious and critical findings on the page as it is. Injected through the DevTools protocol (evaluate),
 * which our Content-Security-Policy (script-src 'self') does not apply to: no inline script is allowed on our pages.
 */
async function axe(page: Page, name: string, scheme: string): Promise<Finding[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const w = window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } };
    const r = await w.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ page: name, scheme, rule: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5) }));
}

async function setLanguage(context: BrowserContext, s: TestServer, locale: string) {
  await context.addCookies([{ name: 'gh_locale', value: locale, url: s.issuer }]);
}

/** checks the page in light and dark mode; the main pages are also photographed in English, dark mode and German */
function checker(context: BrowserContext, s: TestServer, findings: Finding[], checked: string[]) {
  return async (page: Page, name: string, photograph = false) => {
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      findings.push(...(await axe(page, name, scheme)));
      if (photograph) await shoot(page, `a11y-${name}-${scheme === 'light' ? 'en' : 'dark'}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    if (photograph) {
      await setLanguage(context, s, 'de');
      await page.reload();
      assert.equal(await page.getAttribute('html', 'lang'), 'de', `${name} in German`);
      findings.push(...(await axe(page, `${name} (de)`, 'light')));
      await shoot(page, `a11y-${name}-de`);
      await setLanguage(context, s, 'en');
      await page.reload();
    }
    checked.push(name);
  };
}

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('WCAG AA in light and dark mode: axe-core finds no serious or critical violation on any page reached', async (t) => {
  const owner = await launchBrowser(t);
  const newcomer = await launchBrowser(t);
  const clock = fixedClock(stepStart());
  const s = await startServer(t, { clock });
  await setLanguage(owner, s, 'en');
  await setLanguage(newcomer, s, 'en');
  const findings: Finding[] = [];
  const checked: string[] = [];
  const check = checker(owner, s, findings, checked);
  const checkNewcomer = checker(newcomer, s, findings, checked);

  const tenant = await s.services.tenants.create({ slug: 'acme', name: 'Acme Inc' });
  const olga = await makeUser(s.services, { name: 'Olga Owner' });
  await s.services.tenants.addMember(tenant, olga.email, 'owner', null);
  const { secret } = await enrollTotp(s.services, olga, clock.now());
  for (const name of ['Alice Admin', 'Bob Member']) await s.services.tenants.addMember(tenant, (await makeUser(s.services, { name })).email, 'member', null);
  clock.advance(30);

  // the console: sign-in, the second step (and its recovery-code alternative), the account page, the members list
  const page = owner.pages()[0] ?? (await owner.newPage());
  await page.goto(`${s.issuer}/admin`);
  await check(page, 'sign-in', true);
  // the form with both fields said empty beside them (then filled in on that page)
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#password-error').waitFor();
  await check(page, 'sign-in-field-errors');
  await signIn(page, olga.email, olga.password);
  await page.getByRole('heading', { name: 'Two-factor authentication', level: 1 }).waitFor();
  await check(page, 'totp', true);
  const totpUrl = page.url();
  await page.goto(totpUrl.replace(/\/totp$/, '/recovery-code'));
  await check(page, 'recovery-code');
  await page.goto(totpUrl);
  await page.getByLabel('Authentication code').fill(codeFor(secret, clock.now()));
  await page.getByRole('button', { name: 'Verify' }).click();
  // the sign-in returns to the page that asked for it (the console), then the account page
  await page.getByRole('heading', { name: 'Organizations', level: 1 }).waitFor();
  await page.goto(`${s.issuer}/account`);
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  await check(page, 'account', true);
  await page.goto(`${s.issuer}/account/tokens`);
  await check(page, 'tokens');
  await page.goto(`${s.issuer}/admin`);
  await page.getByRole('link', { name: 'Acme Inc' }).click();
  await page.getByRole('heading', { name: 'Acme Inc', level: 1 }).waitFor();
  await check(page, 'console-members', true);

  // an app that is not first-party asks for consent (the session signs in without a form)
  const thirdParty = await relyingParty(t, s, { client: { name: 'Partner App', firstParty: false } });
  await page.goto((await thirdParty.authorize()).url);
  await page.getByRole('heading', { name: 'Allow access?', level: 1 }).waitFor();
  await check(page, 'consent');

  // the provider's own pages and our error page
  await page.goto(`${s.issuer}/oidc/device`);
  await check(page, 'device-input');
  await page.goto(`${s.issuer}/oidc/session/end`);
  await check(page, 'logout-confirm');
  await page.goto(`${s.issuer}/no-such-page`);
  await check(page, 'error-404');
  await page.goto(`${s.issuer}/`);
  await check(page, 'home');

  // a newcomer without 2FA signing in to an app that requires it: the enrollment page
  const strict = await relyingParty(t, s, { client: { name: 'Payroll', requireMfa: true } });
  const nina = await makeUser(s.services, { name: 'Nina Newcomer' });
  const second = newcomer.pages()[0] ?? (await newcomer.newPage());
  await second.goto((await strict.authorize()).url);
  await signIn(second, nina.email, nina.password);
  await second.waitForURL(/\/enroll$/);
  await checkNewcomer(second, 'enroll', true);

  await second.goto(`${s.issuer}/forgot-password`);
  await second.getByLabel('Email').fill('not an address');
  await second.getByRole('button', { name: 'Send the link' }).click();
  await second.locator('#email-error').waitFor();
  await checkNewcomer(second, 'forgot-password-field-error');

  assert.deepEqual(findings, [], 'serious or critical axe-core violations');
  assert.deepEqual(checked, ['sign-in', 'sign-in-field-errors', 'totp', 'recovery-code', 'account', 'tokens', 'console-members', 'consent', 'device-input', 'logout-confirm', 'error-404', 'home', 'enroll', 'forgot-password-field-error']);
});
