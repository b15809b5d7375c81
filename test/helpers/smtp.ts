// A real SMTP server on loopback (the smtp-server package) that keeps what it receives.
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  subject: string;
  raw: string;
}

export async function startSmtpSink(port = 0) {
  const messages: ReceivedMail[] = [];
  let server: SMTPServer | undefined;
  let boundPort = port;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS', 'AUTH'],
        logger: false,
        onData(stream, session, callback) {
          let raw = '';
          stream.on('data', (d: Buffer) => (raw += d.toString('utf8')));
          stream.on('end', () => {
            const subject = /^Subject: (.*)$/im.exec(raw)?.[1]?.trim() ?? '';
            messages.push({ to: session.envelope.rcptTo.map((r) => r.address), subject, raw });
            callback();
          });
        },
      });
      server.on('error', reject);
      server.listen(boundPort, '127.0.0.1', () => {
        boundPort = (server!.server.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  const sink = {
    messages,
    get url() {
      return `smtp://127.0.0.1:${boundPort}`;
    },
    stop: () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
    /** starts again on the same port (after stop) */
    start: listen,
    async waitFor(predicate: (m: ReceivedMail) => boolean, timeoutMs = 10_000): Promise<ReceivedMail> {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = messages.find(predicate);
        if (m) return m;
        if (Date.now() > until) throw new Error(`no matching mail within ${timeoutMs} ms (got: ${messages.map((x) => x.subject).join(' | ')})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  return sink;
}

/** the link to `path` in a received message (quoted-printable soft breaks and =3D undone) */
export function linkIn(mail: ReceivedMail, path: string): string {
  const raw = mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
  const m = new RegExp(`https?://[^\\s"<>]+${path}\\?token=[A-Za-z0-9_-]+`).exec(raw);
  if (!m) throw new Error(`no ${path} link in: ${mail.subject}`);
  return m[0];
}
