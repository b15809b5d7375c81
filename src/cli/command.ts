// The CLI's command table: each command names its noun and verb, its options (node:util parseArgs), a one-line
// usage and summary, and what it runs. main.ts parses, dispatches and prints help from this table alone.
import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config/load-config.ts';
import type { Services } from '../container.ts';
import type { RequestMeta } from '../domain/users/user.service.ts';

export type Values = Record<string, string | boolean | string[] | undefined>;

/** a mistake in how the command was typed: exit code 2, with the command's usage */
export class UsageError extends Error {}

/** the operator as the audit log shows them */
export const OPERATOR: RequestMeta = { userAgent: 'gatehouse-cli', actor: 'operator (CLI)' };

export interface Context {
  /** "user create" */
  name: string;
  v: Values;
  /** the word after the verb (a slug, a name), when the command takes one */
  target: string | undefined;
  services: Services;
  config: Config;
  json: boolean;
  /** human text, or `data` as JSON with --json */
  print(human: string, data: unknown): void;
  /** a note for the operator (stderr; never mixed into --json output) */
  note(text: string): void;
  fail(message: string): never;
  /** yes/no on a terminal; without one, --yes must be given (else a usage error naming it) */
  confirm(question: string): Promise<boolean>;
  /** a password: from stdin, or prompted twice with hidden input on a terminal */
  readPassword(): Promise<string>;
  /** a secret from stdin (one line), never prompted */
  readStdin(): Promise<string>;
  /** sends the mail this command queued (a running server would too, but the CLI may run without one) */
  drainOutbox(): Promise<void>;
}

export interface Command {
  noun: string;
  /** empty for a noun that is a command itself (migrate) */
  verb: string;
  /** what follows "gatehouse noun verb" in the usage line */
  args: string;
  summary: string;
  /** more lines for `--help` */
  details?: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** the positional it takes after the verb (SLUG, NAME, CLIENT_ID), if any */
  positional?: string;
  /** sends mail: the CLI checks its issuer against a running server's first */
  sendsMail?: boolean;
  run(ctx: Context): Promise<number>;
}

export const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
export const strs = (v: Values, k: string): string[] | undefined => (Array.isArray(v[k]) ? (v[k] as string[]) : undefined);
export const flag = (v: Values, k: string): boolean => v[k] === true;

/** a fixed-width table: columns as wide as their longest cell, two spaces apart */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** "key: value" lines, aligned */
export function fields(pairs: [string, string][]): string {
  const w = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.map(([k, val]) => `${`${k}:`.padEnd(w)} ${val}`).join('\n');
}

export const day = (d: Date | null | undefined): string => (d ? d.toISOString().slice(0, 10) : '-');
export const when = (d: Date | null | undefined): string => (d ? d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '-');

/** "1 app", "2 apps" */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
