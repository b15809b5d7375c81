import nunjucks from 'nunjucks';
import { viewsDir } from '../http/views.ts';
import type { EmailRenderer } from '../domain/email/outbox.ts';

/** views/email/<name>.subject.njk, .txt.njk (plain, no escaping) and .html.njk (autoescaped) */
export function createEmailRenderer(): EmailRenderer {
  const loader = new nunjucks.FileSystemLoader(viewsDir);
  const html = new nunjucks.Environment(loader, { autoescape: true });
  const text = new nunjucks.Environment(loader, { autoescape: false });
  return (template, context) => ({
    subject: text.render(`email/${template}.subject.njk`, context).trim().replace(/[\r\n]+/g, ' '),
    text: text.render(`email/${template}.txt.njk`, context),
    html: html.render(`email/${template}.html.njk`, context),
  });
}
