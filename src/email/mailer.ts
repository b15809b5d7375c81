// Sends the outbox: one row at a time under FOR UPDATE SKIP LOCKED (any number of nodes), retries with back-off.
import type { SendMailOptions, Transporter } from 'nodemailer';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { loadOnce } from '../domain/load-once.ts';

export interface MailerLog {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

/** what the outbox needs of a transport */
export interface MailTransport {
  sendMail(mail: SendMailOptions): Promise<unknown>;
  close(): void;
}

/** nodemailer's transport, made (and the library loaded) when the first message is sent */
export function createTransport(smtpUrl: string | undefined): MailTransport {
  const transporter = loadOnce(async (): Promise<Transporter> => {
    const { default: nodemailer } = await import('nodemailer');
    // without SMTP_URL (development only) messages are rendered to JSON and written to the log: the dev sink
    return smtpUrl ? nodemailer.createTransport(smtpUrl) : nodemailer.createTransport({ jsonTransport: true });
  });
  let made: Transporter | undefined;
  return {
    async sendMail(mail) {
      made = await transporter();
      return made.sendMail(mail);
    },
    close: () => made?.close(),
  };
}

const MAX_BACKOFF_SECONDS = 3600;

/** every emailed link carries its single-use secret in `token=`: what is kept after delivery has it replaced */
export function redactLinks(body: string): string {
  return body.replace(/([?&](?:amp;)?token=)[A-Za-z0-9_-]+/g, '$1[redacted]');
}

export function createMailer(deps: { db: Kysely<Database>; transport: MailTransport; from: string; log: MailerLog; devSink: boolean }) {
  const { db, transport, log } = deps;

  /** sends what is due; returns how many were sent */
  async function drain(limit = 20): Promise<number> {
    let sent = 0;
    for (let i = 0; i < limit; i++) {
      const done = await db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('email_outbox')
          .selectAll()
          .where('sent_at', 'is', null)
          .where('next_attempt_at', '<=', sql<Date>`now()`)
          .orderBy('id')
          .limit(1)
          .forUpdate()
          .skipLocked()
          .executeTakeFirst();
        if (!row) return null;
        try {
          await transport.sendMail({ from: deps.from, to: row.to_address, subject: row.subject, text: row.text_body, html: row.html_body });
          // once delivered, the row stays for the record without the link's secret (a database leak yields no live link);
          // the development sink keeps it: without SMTP the outbox row is the developer's only mailbox
          const body = deps.devSink ? {} : { text_body: redactLinks(row.text_body), html_body: redactLinks(row.html_body) };
          await trx.updateTable('email_outbox').set({ sent_at: sql`now()`, attempts: row.attempts + 1, last_error: null, ...body }).where('id', '=', row.id).execute();
          if (deps.devSink) log.info({ mail: { to: row.to_address, subject: row.subject, text: row.text_body } }, 'email (development sink: set SMTP_URL to send for real)');
          return true;
        } catch (err) {
          const backoff = Math.min(MAX_BACKOFF_SECONDS, 2 ** Math.min(row.attempts, 12));
          await trx
            .updateTable('email_outbox')
            .set({ attempts: row.attempts + 1, last_error: String((err as Error).message).slice(0, 500), next_attempt_at: sql`now() + make_interval(secs => ${backoff})` })
            .where('id', '=', row.id)
            .execute();
          log.warn({ outboxId: row.id, attempts: row.attempts + 1, retryInSeconds: backoff, error: (err as Error).message }, 'email delivery failed; will retry');
          return false;
        }
      });
      if (done === null) break;
      if (done) sent++;
      else break; // SMTP trouble: stop this round, back-off applies
    }
    return sent;
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  return {
    drain,
    start(intervalMs = 1000) {
      timer = setInterval(() => {
        running = running.then(() => drain()).catch((err) => log.warn({ err }, 'outbox worker error'));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await running;
      transport.close();
    },
  };
}

export type Mailer = ReturnType<typeof createMailer>;
