// `npm run bench:roundtrips`: the PostgreSQL statements one request of each hot path costs, one request at a time
// (no concurrency, so nothing else is counted but the server's background jobs), with each statement's count per
// request. For finding what to fold; `npm run bench` reports the same totals per figure under load.
import { fullLogin, fullLoginTotp, postLogin, prepareLogin, TotpUsers, type Rp } from './lib/browser.ts';
import { startServerChild } from './lib/child.ts';
// @ts-expect-error plain JavaScript without declarations (bin/ is not compiled)
import { ensureBuilt } from '../bin/build.js';
import { benchEnv } from './lib/config.ts';
import { benchEmail, benchPassword, redirectUri, startBenchDatabase } from './lib/setup.ts';

const N = 20;
ensureBuilt();
const db = await startBenchDatabase({ totpUsers: N + 1 });
const ours = await startServerChild('gatehouse', 'serve-gatehouse.js', db.ourPort, { BENCH_CONFIG_ENV: JSON.stringify(benchEnv(db.pg.url, db.ourPort)), BENCH_QUERY_TEXTS: '1' });
try {
  const rp: Rp = { issuer: ours.origin, clientId: db.web.clientId, clientSecret: db.web.clientSecret, redirectUri };
  const creds = { email: benchEmail, password: benchPassword };
  const tokens = await fullLogin(rp, creds); // warm-up
  let refresh = tokens.refresh_token!;

  async function count(name: string, op: () => Promise<void>) {
    const before = await ours.roundTrips();
    for (let i = 0; i < N; i++) await op();
    const after = await ours.roundTrips();
    const per: Record<string, number> = {};
    for (const [text, n] of Object.entries(after.texts ?? {})) {
      const d = n - (before.texts?.[text] ?? 0);
      if (d > 0) per[text] = Math.round((d / N) * 100) / 100;
    }
    process.stdout.write(`${JSON.stringify({ name, round_trips_per_op: (after.total - before.total) / N, statements: per }, null, 1)}\n`);
  }

  const prepared = await Promise.all(Array.from({ length: N }, () => prepareLogin(rp)));
  await count('login_password_step', async () => void (await postLogin(prepared.pop()!, creds)));
  await count('login_full', async () => void (await fullLogin(rp, creds)));
  const totpUsers = new TotpUsers(db.totpUsers);
  await count('login_full_totp', async () => void (await fullLoginTotp(rp, totpUsers)));
  await count('refresh', async () => {
    const res = await fetch(`${rp.issuer}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${rp.clientId}:${rp.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh }),
    });
    const json = (await res.json()) as { refresh_token?: string };
    if (!json.refresh_token) throw new Error(`refresh failed: ${JSON.stringify(json)}`);
    refresh = json.refresh_token;
  });
} finally {
  await ours.stop();
  await db.stop();
}
