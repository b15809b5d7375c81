// Mail is written to the outbox in the same transaction as the change that causes it; a worker sends it.
// A rolled-back change never sends mail, and an SMTP outage never loses any.
import type { Db } from '../../db/database.ts';
import { recipientLocale, type Locale } from '../users/locale-preference.ts';

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** renders a mail in `locale` (the recipient's language) */
export type EmailRenderer = (template: string, context: Record<string, unknown>, locale?: Locale) => RenderedEmail;

export interface Outbox {
  enqueue(trx: Db, to: string, template: string, context: Record<string, unknown>): Promise<void>;
}

export function createOutbox(render: EmailRenderer): Outbox {
  return {
    async enqueue(trx, to, template, context) {
      // written in the language the recipient chose (their account's preference), read in the same transaction
      const m = render(template, context, await recipientLocale(trx, to));
      await trx.insertInto('email_outbox').values({ to_address: to, subject: m.subject, text_body: m.text, html_body: m.html }).execute();
    },
  };
}
