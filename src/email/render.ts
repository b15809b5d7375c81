import nunjucks from 'nunjucks';
import { addDateFilter, viewsDir } from '../http/views.ts';
import type { EmailRenderer } from '../domain/email/outbox.ts';
import type { Brand } from '../config/brand.ts';
import { translator } from '../i18n/catalogue.ts';

/**
 * views/email/<name>.subject.njk, .txt.njk (plain, no escaping) and .html.njk (autoescaped), in the recipient's
 * language and with the deployment's brand
 */
export function createEmailRenderer(brand?: Brand): EmailRenderer {
  const loader = new nunjucks.FileSystemLoader(viewsDir);
  const html = new nunjucks.Environment(loader, { autoescape: true });
  const text = new nunjucks.Environment(loader, { autoescape: false });
  for (const env of [html, text]) {
    addDateFilter(env);
    env.addGlobal('brand', brand ?? { name: 'Gatehouse', color: '#0b57d0' });
  }
  return (template, context, locale = 'en') => {
    const ctx = { t: translator(locale), locale, ...context };
    return {
      subject: text.render(`email/${template}.subject.njk`, ctx).trim().replace(/[\r\n]+/g, ' '),
      text: text.render(`email/${template}.txt.njk`, ctx),
      html: html.render(`email/${template}.html.njk`, ctx),
    };
  };
}
