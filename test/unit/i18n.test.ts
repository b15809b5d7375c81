// Message catalogues and the choice of a page's language.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseLocale, formatAgo, formatDate, readCatalogue, translator } from '../../src/i18n/catalogue.ts';
import { SUPPORTED_LOCALES } from '../../src/domain/users/locale-preference.ts';

/** every leaf of a catalogue as "page.key" → text */
function leaves(obj: Record<string, unknown>, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [kk, vv] of leaves(v as Record<string, unknown>, `${prefix}${k}.`)) out.set(kk, vv);
    else out.set(`${prefix}${k}`, v);
  }
  return out;
}

test('the en and de catalogues have the same keys and no empty values', () => {
  const [en, ...others] = SUPPORTED_LOCALES.map((l) => ({ locale: l, keys: leaves(readCatalogue(l)) }));
  assert.ok(en!.keys.size > 100, 'the English catalogue is the complete one');
  for (const other of others) {
    assert.deepEqual([...other.keys.keys()].sort(), [...en!.keys.keys()].sort(), `${other.locale} has exactly the keys of en`);
  }
  for (const { locale, keys } of [en!, ...others]) {
    const empty = [...keys].filter(([, v]) => typeof v !== 'string' || v.trim() === '').map(([k]) => k);
    assert.deepEqual(empty, [], `${locale}: keys without text`);
  }
});

test('placeholders are the same in every language', () => {
  const vars = (s: unknown) => [...String(s).matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();
  const en = leaves(readCatalogue('en'));
  const de = leaves(readCatalogue('de'));
  const differ = [...en].filter(([k, v]) => JSON.stringify(vars(v)) !== JSON.stringify(vars(de.get(k)))).map(([k]) => k);
  assert.deepEqual(differ, []);
});

test('t() interpolates and pluralises in the chosen language', () => {
  assert.equal(translator('de')('layout.securedBy', { name: 'Acme' }), 'Geschützt durch Acme');
  assert.equal(translator('en')('email.linkOutro', { count: 1 }).includes('1 hour.'), true);
  assert.equal(translator('de')('email.linkOutro', { count: 24 }).includes('24 Stunden'), true);
});

test('kept-messages-never-mix-values: a message with values is the same as i18next says, whatever was asked before', () => {
  const t = translator('en');
  // each value, type and plural form apart, asked twice in turn (the second time from what was kept)
  for (let round = 0; round < 2; round++) {
    assert.equal(t('layout.securedBy', { name: 'Acme' }), 'Secured by Acme');
    assert.equal(t('layout.securedBy', { name: 'Bcme' }), 'Secured by Bcme');
    assert.equal(t('layout.securedBy', { name: '1' }), 'Secured by 1');
    assert.equal(t('layout.securedBy', { name: 1 }), 'Secured by 1');
    assert.equal(t('layout.securedBy', { name: NaN }), 'Secured by NaN');
    assert.equal(t('layout.securedBy', { name: Infinity }), 'Secured by Infinity');
    // a value that looks like the key's joint: kept apart from a second value
    assert.equal(t('layout.securedBy', { name: 'A\u0000x\u0000"y"' }), 'Secured by A\u0000x\u0000"y"');
    assert.ok(t('email.linkOutro', { count: 1 }).includes('1 hour.'));
    assert.ok(t('email.linkOutro', { count: 24 }).includes('24 hours.'));
    assert.equal(translator('de')('layout.securedBy', { name: 'Acme' }), 'Geschützt durch Acme');
  }
  // more values than are kept: still right (it starts afresh)
  for (let i = 0; i < 2_500; i++) assert.equal(t('layout.securedBy', { name: `n${i}` }), `Secured by n${i}`);
  assert.equal(t('layout.securedBy', { name: 'Acme' }), 'Secured by Acme');
  // an object value is put in as i18next does, never kept under another call's key
  assert.equal(t('layout.securedBy', { name: 'Acme', replace: { name: 'Other' } }), translator('en')('layout.securedBy', { name: 'Acme', replace: { name: 'Other' } }));
});

test('the language is the switcher cookie, then ui_locales, then the user preference, then Accept-Language, then English', () => {
  assert.equal(chooseLocale({}), 'en');
  assert.equal(chooseLocale({ acceptLanguage: 'de-DE,de;q=0.9,en;q=0.5' }), 'de');
  assert.equal(chooseLocale({ acceptLanguage: 'fr-FR, en;q=0.1' }), 'en', 'unsupported languages fall through to the next one the browser accepts');
  assert.equal(chooseLocale({ acceptLanguage: 'fr' }), 'en');
  assert.equal(chooseLocale({ user: 'de', acceptLanguage: 'en' }), 'de', 'a user preference beats the browser');
  assert.equal(chooseLocale({ uiLocales: 'fr-CA de en', user: 'en', acceptLanguage: 'en' }), 'de', 'ui_locales: the first supported tag wins');
  assert.equal(chooseLocale({ cookie: 'en', uiLocales: 'de', user: 'de', acceptLanguage: 'de' }), 'en', 'the switcher wins, or it would not switch');
  assert.equal(chooseLocale({ cookie: 'xx', acceptLanguage: 'de' }), 'de', 'a forged cookie value is ignored');
});

test('dates are written for the locale, in UTC', () => {
  const d = new Date(Date.now() + 40 * 86400_000); // any day: the expected text is built from its UTC parts
  const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
  const EN = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const DE = ['Januar', 'Februar', 'März', 'April', 'Mai', 'Juni', 'Juli', 'August', 'September', 'Oktober', 'November', 'Dezember'];
  assert.equal(formatDate(d, 'en'), `${EN[m]} ${day}, ${y}`);
  assert.equal(formatDate(d, 'de'), `${String(day).padStart(2, '0')}.${String(m + 1).padStart(2, '0')}.${y}`);
  assert.equal(formatDate(d, 'de', 'long'), `${day}. ${DE[m]} ${y}`);
  assert.equal(formatDate('not a date', 'en'), '');
});

test('how long ago is said in the largest whole unit, for the locale; from a week on, nothing (the date is said instead)', () => {
  const now = new Date();
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
  assert.equal(formatAgo(ago(20), now, 'en'), '1 minute ago');
  assert.equal(formatAgo(ago(18 * 60), now, 'en'), '18 minutes ago');
  assert.equal(formatAgo(ago(18 * 60), now, 'de'), 'vor 18 Minuten');
  assert.equal(formatAgo(ago(2 * 3600 + 59), now, 'en'), '2 hours ago');
  assert.equal(formatAgo(ago(2 * 3600), now, 'de'), 'vor 2 Stunden');
  assert.equal(formatAgo(ago(30 * 3600), now, 'en'), 'yesterday');
  assert.equal(formatAgo(ago(30 * 3600), now, 'de'), 'gestern');
  assert.equal(formatAgo(ago(3 * 86400), now, 'de'), 'vor 3 Tagen');
  assert.equal(formatAgo(ago(6 * 86400), now, 'en'), '6 days ago');
  assert.equal(formatAgo(ago(7 * 86400), now, 'en'), null);
});
