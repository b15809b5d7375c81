// Runs test/interop/support/authlib_rp.py (Python authlib) as a relying party and talks to it line by line.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Debian's interpreter, where python3-authlib lives (a pyenv or venv python3 earlier on PATH may lack it) */
export const PYTHON = process.env.GATEHOUSE_INTEROP_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(new URL(import.meta.url).pathname), 'authlib_rp.py');

export interface AuthlibResult {
  id_token_claims: Record<string, unknown>;
  refreshed_claims: Record<string, unknown> | null;
  userinfo: Record<string, unknown>;
  scope?: string;
}

export async function authlibRp(
  t: { after(fn: () => Promise<void>): void },
  cfg: { issuer: string; client_id: string; client_secret?: string; redirect_uri: string; scope?: string; params?: Record<string, string> },
) {
  const child = spawn(PYTHON, [SCRIPT, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  t.after(async () => void (child.exitCode === null && child.kill()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`authlib RP ended early:\n${stderr}`);
    const msg = JSON.parse(value as string) as Record<string, unknown>;
    if (msg.error) throw new Error(`authlib RP: ${msg.error}\n${stderr}`);
    return msg;
  };
  const { authorization_url } = (await next()) as { authorization_url: string };
  return {
    authorizationUrl: authorization_url,
    /** hands the RP the callback URL; resolves with what it verified */
    finish: async (callbackUrl: string): Promise<AuthlibResult> => {
      child.stdin.write(`${JSON.stringify({ callback_url: callbackUrl })}\n`);
      return (await next()) as unknown as AuthlibResult;
    },
  };
}
