import type { TestServer } from './server.ts';

/** the newest link to `path` (with its token) in mail written to `email`'s outbox, as an absolute URL */
export async function outboxLink(s: TestServer, email: string, path: string): Promise<string> {
  const rows = await s.services.db.selectFrom('email_outbox').select('text_body').where('to_address', '=', email).orderBy('id', 'desc').execute();
  for (const r of rows) {
    const m = new RegExp(`${path}\\?token=[A-Za-z0-9_-]+`).exec(r.text_body);
    if (m) return `${s.issuer}${m[0]}`;
  }
  throw new Error(`no ${path} link for ${email}`);
}
