import { postLogin, prepareLogin, finishLogin, fullLogin, type Rp } from './lib/browser.ts';
import { startServerChild } from './lib/child.ts';
// @ts-expect-error js
import { ensureBuilt } from '../bin/build.js';
import { benchEnv } from './lib/config.ts';
import { benchEmail, benchPassword, redirectUri, startBenchDatabase } from './lib/setup.ts';
ensureBuilt();
const db = await startBenchDatabase();
const ours = await startServerChild('gatehouse', 'serve-gatehouse.js', db.ourPort, { BENCH_CONFIG_ENV: JSON.stringify(benchEnv(db.pg.url, db.ourPort)), BENCH_QUERY_TEXTS: '1' });
try {
  const rp: Rp = { issuer: ours.origin, clientId: db.web.clientId, clientSecret: db.web.clientSecret, redirectUri };
  const creds = { email: benchEmail, password: benchPassword };
  await fullLogin(rp, creds);
  let before = await ours.roundTrips();
  const phase = async (name: string) => {
    const after = await ours.roundTrips();
    console.log(`--- ${name}: ${after.total - before.total}`);
    for (const [t, n] of Object.entries(after.texts ?? {})) { const d = n - (before.texts?.[t] ?? 0); if (d > 0) console.log(`  ${d} ${t.slice(0, 150)}`); }
    before = after;
  };
  const p = await prepareLogin(rp); await phase('auth + page');
  const post = await postLogin(p, creds); await phase('post');
  await finishLogin(rp, p, post); await phase('resume + token');
} finally { await ours.stop(); await db.stop(); }
