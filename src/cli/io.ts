// The CLI's terminal: stdin, hidden password prompts, confirmations, the development mail sink shown readably, and
// the warning when this shell's issuer differs from a running server's.
import { createInterface } from 'node:readline';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { lastServerStart } from '../domain/server-start.ts';
import { UsageError } from './command.ts';

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return (await promptLine('')).trim();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** one line typed on the terminal (echoed, as the terminal does) */
async function promptLine(question: string): Promise<string> {
  process.stderr.write(question);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line;
    return '';
  } finally {
    rl.close();
  }
}

/** reads one line from the terminal without echoing it */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  // echo off before the question shows: a person (or a script) typing right after it would otherwise see it echoed
  stdin.setRawMode(true);
  process.stderr.write(question);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let answer = '';
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(), resolve(answer);
        if (ch === '\u0003' || ch === '\u0004') return done(), reject(new UsageError('cancelled'));
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** --password-stdin: piped, or typed twice (hidden) on a terminal */
export async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password: ');
    if (!first) throw new UsageError('no password typed');
    const again = await promptHidden('Password (again): ');
    if (again !== first) throw new UsageError('the two passwords differ; nothing was changed');
    return first;
  }
  const piped = await readStdin();
  if (!piped) throw new UsageError('no password on stdin: pipe it in (echo "…" | gatehouse …), or run on a terminal to be prompted');
  return piped;
}

/** asks on a terminal; elsewhere only --yes confirms */
export async function confirm(question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) throw new UsageError(`${question}\nNot on a terminal, so nothing was asked: add --yes to confirm.`);
  const answer = (await promptLine(`${question} [y/N] `)).trim().toLowerCase();
  return answer === 'y' || answer === 'yes';
}

/** the development mail sink (no SMTP_URL) as a person reads it: recipient, subject, the links */
export function mailSinkLog(write: (s: string) => void) {
  const show = (o: unknown) => {
    const mail = (o as { mail?: { to: string; subject: string; text: string } }).mail;
    if (mail) {
      const links = [...new Set(mail.text.match(/https?:\/\/[^\s<>"')]+/g) ?? [])];
      write(['Mail (not sent: SMTP_URL is not set, so it is shown here)', `  To:      ${mail.to}`, `  Subject: ${mail.subject}`, ...links.map((l) => `  Link:    ${l}`), ''].join('\n'));
    } else {
      const { error, retryInSeconds } = o as { error?: string; retryInSeconds?: number };
      write(error ? `Mail not sent yet (${error}); the server retries${retryInSeconds ? ` in ${retryInSeconds} s` : ''}.\n` : `${JSON.stringify(o)}\n`);
    }
  };
  return { info: show, warn: show };
}

/**
 * Warns when the issuer this command will put in links differs from the one a server announced at start and that
 * server answers now (a short discovery request): links in mail would point at the wrong place.
 */
export async function issuerWarning(db: Kysely<Database>, issuer: string, timeoutMs = 1000): Promise<string | undefined> {
  const last = await lastServerStart(db);
  if (!last || last.issuer === issuer) return undefined;
  let running = false;
  try {
    const res = await fetch(`${last.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(timeoutMs) });
    running = res.ok && ((await res.json()) as { issuer?: string }).issuer === last.issuer;
  } catch {
    running = false;
  }
  if (!running) return undefined;
  return `Warning: a server is running at ${last.issuer}, but this command uses ${issuer}, so links in the mail it sends point there. Run it with the server's settings (GATEHOUSE_ISSUER=${last.issuer}, or the same PORT).`;
}
