import pg from 'pg';
import { fullLogin, type Rp } from './lib/browser.ts';
import { startServerChild } from './lib/child.ts';
// @ts-expect-error js
import { ensureBuilt } from '../bin/build.js';
import { benchEnv } from './lib/config.ts';
import { benchEmail, benchPassword, redirectUri, startBenchDatabase } from './lib/setup.ts';
ensureBuilt();
const db = await startBenchDatabase();
const ours = await startServerChild('gatehouse', 'serve-gatehouse.js', db.ourPort, { BENCH_CONFIG_ENV: JSON.stringify(benchEnv(db.pg.url, db.ourPort)), BENCH_CAPTURE_STATEMENTS: '1' });
try {
  const rp: Rp = { issuer: ours.origin, clientId: db.web.clientId, clientSecret: db.web.clientSecret, redirectUri };
  const t = await fullLogin(rp, { email: benchEmail, password: benchPassword });
  await ours.statements();
  const res = await fetch(`${rp.issuer}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${rp.clientId}:${rp.clientSecret}`).toString('base64')}` }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.refresh_token! }) });
  console.log('refresh', res.status);
  const sts = await ours.statements();
  const c = new pg.Client({ connectionString: db.pg.url }); await c.connect();
  for (const st of sts) {
    if (!/^\s*(select|update|delete|with|insert)/i.test(st.text)) continue;
    let plan = 0, exec = 0; const N = 50;
    for (let i = 0; i < N; i++) {
      await c.query('BEGIN');
      const r = await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${st.text}`, st.values);
      await c.query('ROLLBACK');
      const top = (r.rows[0] as any)['QUERY PLAN'][0];
      if (i >= 10) { plan += top['Planning Time']; exec += top['Execution Time']; }
    }
    console.log(`plan ${(plan / (N - 10)).toFixed(3)} ms, exec ${(exec / (N - 10)).toFixed(3)} ms: ${st.text.replace(/\s+/g, ' ').slice(0, 90)}`);
  }
  await c.end();
} finally { await ours.stop(); await db.stop(); }
