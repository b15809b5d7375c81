import nunjucks from 'nunjucks';
import type { Brand } from '../config/brand.ts';
import { SUPPORTED_LOCALES, type Locale } from '../domain/users/locale-preference.ts';
import { formatDate, translator } from '../i18n/catalogue.ts';
import { currentLocale, currentPath, interactionClient } from './locale.ts';
import { publicDir, viewsDir } from '../paths.ts';

export { publicDir, viewsDir };

export type Render = (template: string, context: Record<string, unknown>) => string;

/** each language named in itself, as the switcher lists them */
export const LANGUAGE_NAMES: Record<Locale, string> = { en: 'English', de: 'Deutsch' };

/**
 * `{{ when | date }}`, `| date("long")`, `| date("datetime")`: the one way templates write a date, in the page's
 * language (the context's `locale`)
 */
export function addDateFilter(env: nunjucks.Environment) {
  env.addFilter('date', function (this: { ctx: { locale?: Locale } }, value: unknown, style?: string) {
    return formatDate(value, this.ctx.locale ?? 'en', style);
  });
}

/**
 * `globals`: values every template sees (e.g. whether security keys can work on this server). Each render is in
 * the request's language (src/http/locale.ts): `t(key, vars)` and `locale` are added to the context.
 */
export function createRenderer(opts: { watch?: boolean; globals?: Record<string, unknown>; brand?: Brand } = {}): Render {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir, { noCache: opts.watch ?? false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  addDateFilter(env);
  for (const [name, value] of Object.entries(opts.globals ?? {})) env.addGlobal(name, value);
  env.addGlobal('brand', opts.brand ?? { name: 'Gatehouse' });
  env.addGlobal('languages', SUPPORTED_LOCALES.map((code) => ({ code, name: LANGUAGE_NAMES[code] })));
  return (template, context) => {
    const locale = currentLocale();
    return env.render(template, { t: translator(locale), locale, currentPath: currentPath(), client: interactionClient(), ...context });
  };
}
