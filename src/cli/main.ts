// `gatehouse` command line: a table of commands by noun (users.ts, clients.ts, tenants.ts, upstream-commands.ts,
// keys.ts), parsed with node:util parseArgs. Works with or without a running server, on the embedded database or
// DATABASE_URL. Exit codes: 0 done, 1 the change failed (the message says why), 2 the command was mistyped.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config.ts';
import { createServices, openDatabase } from '../container.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { DomainError } from '../domain/errors.ts';
import { createMailer, createTransport } from '../email/mailer.ts';
import { CLIENT_COMMANDS } from './clients.ts';
import { flag, UsageError, type Command, type Context, type Values } from './command.ts';
import { confirm, issuerWarning, mailSinkLog, readPassword, readStdin } from './io.ts';
import { KEY_COMMANDS } from './keys.ts';
import { nearest } from './suggest.ts';
import { TENANT_COMMANDS } from './tenants.ts';
import { UPSTREAM_COMMANDS } from './upstream-commands.ts';
import { USER_COMMANDS } from './users.ts';

const COMMANDS: Command[] = [...USER_COMMANDS, ...CLIENT_COMMANDS, ...TENANT_COMMANDS, ...UPSTREAM_COMMANDS, ...KEY_COMMANDS];
const NOUNS = [...new Set(COMMANDS.map((c) => c.noun))];
// the words people also type: plurals, and what the pages call tenants
const ALIASES: Record<string, string> = { users: 'user', clients: 'client', app: 'client', apps: 'client', tenants: 'tenant', org: 'tenant', orgs: 'tenant', organization: 'tenant', organizations: 'tenant', key: 'keys', upstreams: 'upstream' };
const GLOBAL_OPTIONS = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

const nameOf = (c: Command) => (c.verb ? `${c.noun} ${c.verb}` : c.noun);
const usageLine = (c: Command) => `gatehouse ${nameOf(c)}${c.args ? ` ${c.args}` : ''} [--json]`;

function globalUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => nameOf(c).length)) + 2;
  const lines = NOUNS.flatMap((noun) => ['', ...COMMANDS.filter((c) => c.noun === noun).map((c) => `  ${nameOf(c).padEnd(width)}${c.summary}`)]);
  return `Usage: gatehouse <command> [options] [--json]\n${lines.join('\n')}\n\n--json prints the result as JSON. Run "gatehouse <command> --help" for a command's options (gatehouse user create --help),\n"gatehouse user --help" for a group. Exit codes: 0 done, 1 failed, 2 mistyped.`;
}

function nounUsage(noun: string): string {
  return `Usage: gatehouse ${noun} <command> [options] [--json]\n\n${COMMANDS.filter((c) => c.noun === noun)
    .map((c) => `  ${usageLine(c)}\n      ${c.summary}`)
    .join('\n')}`;
}

const commandUsage = (c: Command) => `Usage: ${usageLine(c)}\n\n${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.${c.details ? `\n${c.details}` : ''}`;

const stderr = (s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);

function usageError(message: string, usage: string): number {
  stderr(`gatehouse: ${message}\n\n${usage}`);
  return 2;
}

/** finds the command the words name, or says what was meant */
function resolve(argv: string[]): { command: Command; rest: string[] } | { help: string } | { error: string; usage: string } {
  const first = argv[0];
  if (first === undefined) return { error: 'no command given', usage: globalUsage() };
  if (first === 'help' || first === '--help' || first === '-h') {
    const [noun, verb] = argv.slice(1).filter((w) => !w.startsWith('-'));
    const n = noun && (ALIASES[noun] ?? noun);
    const c = n && COMMANDS.find((x) => x.noun === n && x.verb === (verb ?? ''));
    return { help: c ? commandUsage(c) : n && NOUNS.includes(n) ? nounUsage(n) : globalUsage() };
  }
  if (first.startsWith('-')) return { error: `the command comes first (gatehouse <command> ${first} …)`, usage: globalUsage() };
  const noun = ALIASES[first] ?? first;
  if (!NOUNS.includes(noun)) {
    const guess = nearest(first, [...NOUNS, ...Object.keys(ALIASES), 'help']);
    return { error: `unknown command "${first}".${guess ? ` Did you mean "${ALIASES[guess] ?? guess}"?` : ''}`, usage: 'Run "gatehouse help" for the list of commands.' };
  }
  const own = COMMANDS.filter((c) => c.noun === noun);
  const whole = own.find((c) => c.verb === '');
  if (whole) return { command: whole, rest: argv.slice(1) };
  const verb = argv[1];
  if (verb === undefined || verb.startsWith('-')) {
    if (verb === '--help' || verb === '-h') return { help: nounUsage(noun) };
    return { error: `"gatehouse ${noun}" needs a command: ${own.map((c) => c.verb).join(', ')}`, usage: nounUsage(noun) };
  }
  const command = own.find((c) => c.verb === verb);
  if (!command) {
    const guess = nearest(verb, own.map((c) => c.verb));
    return { error: `unknown command "${noun} ${verb}".${guess ? ` Did you mean "${noun} ${guess}"?` : ''}`, usage: nounUsage(noun) };
  }
  return { command, rest: argv.slice(2) };
}

/** parseArgs' errors, said in the operator's terms */
function parseError(err: unknown, command: Command): string {
  const e = err as { code?: string; message: string };
  const named = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && named) {
    const known = Object.keys({ ...command.options, ...GLOBAL_OPTIONS }).map((k) => `--${k}`);
    const guess = nearest(named, known);
    return `unknown flag ${named} for "gatehouse ${nameOf(command)}".${guess ? ` Did you mean ${guess}?` : ''}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && named) {
    return (command.options[named.replace(/^-+/, '')] ?? {}).type === 'boolean' ? `${named} takes no value` : `${named} needs a value`;
  }
  return e.message;
}

export async function run(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  const found = resolve(argv);
  if ('help' in found) {
    out(found.help);
    return 0;
  }
  if ('error' in found) return usageError(found.error, found.usage);
  const { command, rest } = found;
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: { ...command.options, ...GLOBAL_OPTIONS }, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] });
  } catch (err) {
    return usageError(parseError(err, command), commandUsage(command));
  }
  if (values.help) {
    out(commandUsage(command));
    return 0;
  }
  const extra = positionals.slice(command.positional ? 1 : 0);
  if (extra.length) return usageError(`unexpected "${extra.join(' ')}" after "gatehouse ${nameOf(command)}"`, commandUsage(command));

  const json = flag(values, 'json');
  const config = loadConfig();
  const { db, embedded } = await openDatabase(config);
  try {
    if (command.noun !== 'migrate') await migrateToLatest(db);
    const services = createServices(config, db);
    if (command.sendsMail) {
      const warning = await issuerWarning(db, config.issuer);
      if (warning) stderr(warning);
    }
    const ctx: Context = {
      name: nameOf(command),
      v: values,
      target: command.positional ? positionals[0] : undefined,
      services,
      config,
      json,
      print: (human, data) => out(json ? JSON.stringify(data) : human),
      note: stderr,
      fail: (message) => {
        throw new UsageError(message);
      },
      confirm: (question) => confirm(question, flag(values, 'yes')),
      readPassword,
      readStdin,
      // a running server sends the outbox; the CLI may run without one, so it sends what it queued itself
      async drainOutbox() {
        const mailer = createMailer({ db, transport: createTransport(config.smtpUrl), from: config.mailFrom, log: mailSinkLog(stderr), devSink: !config.smtpUrl });
        await mailer.drain();
        await mailer.stop();
      },
    };
    return await command.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) return usageError(err.message, commandUsage(command));
    if (err instanceof DomainError) {
      stderr(json ? JSON.stringify({ error: err.code, message: err.message }) : `Error: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await db.destroy();
    await embedded?.stop();
  }
}
