// The `gatehouse` command, run as an operator runs it: a child process with its own environment.
import { spawn } from 'node:child_process';
import { TEST_COOKIE_KEY, TEST_ENCRYPTION_KEYS } from './config.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `bin/gatehouse.js <args>` against `databaseUrl`, with `stdin` written to it (and `extraEnv` over the test keys) */
export function runGatehouse(databaseUrl: string, args: string[], stdin = '', extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, DATABASE_URL: databaseUrl, GATEHOUSE_COOKIE_KEYS: TEST_COOKIE_KEY, GATEHOUSE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS, LOG_LEVEL: 'silent', ...extraEnv };
    const child = spawn(process.execPath, ['bin/gatehouse.js', ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
