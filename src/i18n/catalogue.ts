// Message catalogues (locales/<lang>.json, one object per page) and the choice of a language for a request.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import i18next from 'i18next';
import Negotiator from 'negotiator';
import { localesDir } from '../paths.ts';
import { DEFAULT_LOCALE, SUPPORTED_LOCALES, isLocale, type Locale } from '../domain/users/locale-preference.ts';

export { localesDir };

export function readCatalogue(locale: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(localesDir, `${locale}.json`), 'utf8')) as Record<string, unknown>;
}

const i18n = i18next.createInstance();
// synchronous: the catalogues are read once at start, so every later t() is a plain lookup
void i18n.init({
  initAsync: false,
  resources: Object.fromEntries(SUPPORTED_LOCALES.map((l) => [l, { translation: readCatalogue(l) }])),
  supportedLngs: [...SUPPORTED_LOCALES],
  fallbackLng: DEFAULT_LOCALE,
  // nunjucks autoescapes what t() returns: escaping here too would show "&amp;" on the page
  interpolation: { escapeValue: false },
  returnNull: false,
});

export type Translate = (key: string, vars?: Record<string, unknown>) => string;

/** a message without variables is the same every time: worked out once per language (a page asks for dozens) */
const PLAIN_MAX = 5_000;
/**
 * A message with variables costs i18next about 30 µs (its option handling and interpolation), and every page's footer
 * has one (the brand's name): the same key with the same plain values gives the same text, so it is kept too. Its
 * values may come from users (names, addresses), so this one starts afresh when full rather than stop keeping.
 */
const WITH_VALUES_MAX = 1_000;

/**
 * the cache key of a call whose values are all strings, numbers or booleans, else undefined (not kept). i18next's
 * answer is then a function of the language, the key and those values, options among them (`count` picks a plural
 * form from its number, the same every time); an object or a function (a `replace` map, a post-processor) is not.
 */
function keyWithValues(key: string, vars: Record<string, unknown>): string | undefined {
  let k = key;
  for (const name in vars) {
    const v = vars[name];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return undefined;
    // names are the templates' own words; a number as itself after "n" (NaN and the infinities apart, which JSON
    // writes as null), a string or a boolean as JSON (no raw NUL, a string in quotes): the joined key is unambiguous
    k += `\u0000${name}\u0000${typeof v === 'number' ? `n${v}` : JSON.stringify(v)}`;
  }
  return k;
}

const translators = new Map<Locale, Translate>();

export function translator(locale: Locale): Translate {
  let translate = translators.get(locale);
  if (!translate) {
    const t = i18n.getFixedT(locale);
    const plain = new Map<string, string>();
    const withValues = new Map<string, string>();
    translate = (key, vars) => {
      if (vars) {
        const k = keyWithValues(key, vars);
        if (k === undefined) return t(key, vars) as string;
        let message = withValues.get(k);
        if (message === undefined) {
          message = t(key, vars) as string;
          if (withValues.size >= WITH_VALUES_MAX) withValues.clear();
          withValues.set(k, message);
        }
        return message;
      }
      let message = plain.get(key);
      if (message === undefined) {
        message = t(key, {}) as string;
        // bounded: a key made from a request's words (an unknown one comes back as itself) cannot grow it without end
        if (plain.size < PLAIN_MAX) plain.set(key, message);
      }
      return message;
    };
    translators.set(locale, translate);
  }
  return translate;
}

/** whether the catalogues have a message for this key (every language has the same keys: test/unit/i18n.test.ts) */
export function hasMessage(key: string): boolean {
  return i18n.exists(key, { lng: DEFAULT_LOCALE });
}

const dateFormats: Record<string, Intl.DateTimeFormatOptions> = {
  date: { dateStyle: 'medium', timeZone: 'UTC' },
  long: { dateStyle: 'long', timeZone: 'UTC' },
  datetime: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' },
};

/** a date as people of this language write it (UTC: the server does not know the reader's time zone) */
export function formatDate(value: unknown, locale: Locale, style = 'date'): string {
  const d = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(locale, dateFormats[style] ?? dateFormats.date).format(d);
}

/**
 * How long ago, as people of this language say it ("5 minutes ago", "vor 2 Stunden", "yesterday"), in the largest
 * whole unit; under a minute counts as one minute. Null from a week on: say the date instead.
 */
export function formatAgo(then: Date, now: Date, locale: Locale): string | null {
  const seconds = Math.max(0, (now.getTime() - then.getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  if (seconds < 3600) return rtf.format(-Math.max(1, Math.floor(seconds / 60)), 'minute');
  if (seconds < 86_400) return rtf.format(-Math.floor(seconds / 3600), 'hour');
  if (seconds < 7 * 86_400) return rtf.format(-Math.floor(seconds / 86_400), 'day');
  return null;
}

/** the first supported language of a space-separated list of BCP 47 tags (OIDC ui_locales), by primary subtag */
export function fromUiLocales(uiLocales: string | undefined): Locale | null {
  for (const tag of (uiLocales ?? '').split(' ')) {
    const primary = tag.split('-')[0]!.toLowerCase();
    if (isLocale(primary)) return primary;
  }
  return null;
}

export function fromAcceptLanguage(header: string | undefined): Locale | null {
  if (!header) return null;
  const best = new Negotiator({ headers: { 'accept-language': header } }).languages([...SUPPORTED_LOCALES])[0];
  return isLocale(best) ? best : null;
}

/**
 * The language of a page: the switcher's cookie (an explicit choice in this browser, so it must win or the
 * switcher would not switch), then the app's ui_locales, then the signed-in user's preference, then the
 * browser's Accept-Language, then English.
 */
export function chooseLocale(input: { cookie?: string; uiLocales?: string; user?: string | null; acceptLanguage?: string }): Locale {
  if (isLocale(input.cookie)) return input.cookie;
  return fromUiLocales(input.uiLocales) ?? (isLocale(input.user) ? input.user : null) ?? fromAcceptLanguage(input.acceptLanguage) ?? DEFAULT_LOCALE;
}
