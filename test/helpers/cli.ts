// The `gatehouse` command, run as an operator runs it: a child process with its own environment.
import { spawn } from 'node:child_process';
import { TEST_COOKIE_KEY, TEST_ENCRYPTION_KEYS } from './config.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const cliEnv = (databaseUrl: string, extra: Record<string, string> = {}) => ({ ...process.env, DATABASE_URL: databaseUrl, GATEHOUSE_COOKIE_KEYS: TEST_COOKIE_KEY, GATEHOUSE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS, LOG_LEVEL: 'silent', ...extra });

/** `bin/gatehouse.js <args>` against `databaseUrl`, with `stdin` written to it */
export function runGatehouse(databaseUrl: string, args: string[], stdin = '', env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/gatehouse.js', ...args], { env: cliEnv(databaseUrl, env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The same command on a terminal: util-linux `script` gives it a pseudo-terminal, so it sees a TTY on stdin and
 * prompts. Each answer is typed only once its prompt has appeared (typed earlier, the terminal would echo it).
 * `output` is everything the terminal showed (stdout and stderr, with \r\n line ends).
 */
export function runGatehouseTty(databaseUrl: string, args: string[], answers: { after: RegExp; type: string }[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, 'bin/gatehouse.js', ...args].map(quote).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { env: cliEnv(databaseUrl) });
    let output = '';
    let seen = 0;
    const pending = [...answers];
    child.stdout.on('data', (d) => {
      output += d;
      const next = pending[0];
      if (next && next.after.test(output.slice(seen))) {
        seen = output.length;
        pending.shift();
        child.stdin.write(next.type);
      }
    });
    child.stderr.on('data', (d) => (output += d));
    // a prompt that never comes must fail the test, not hang it
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, output });
    });
  });
}
