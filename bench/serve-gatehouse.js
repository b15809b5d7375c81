// Child process: our server as `npm start` runs it — the built code (dist/, `npm run build`), no tsx — assembled as
// src/main.ts assembles it (createServices → prepare → buildApp), with the configuration the orchestrator passes as
// the environment loadConfig reads (BENCH_CONFIG_ENV, JSON), logs silenced. Prints "ready <port>" once listening;
// exits when stdin closes (the orchestrator died) or on SIGTERM. A line "queries" on stdin is answered with the
// PostgreSQL round trips so far (bench/lib/roundtrips.js).
import { createInterface } from 'node:readline';
import { countRoundTrips, roundTripSnapshot } from './lib/roundtrips.js';

countRoundTrips();
const { buildApp } = await import('../dist/src/app.js');
const { createServices, prepare } = await import('../dist/src/container.js');
const { createDb } = await import('../dist/src/db/database.js');
const { loadConfig } = await import('../dist/src/config/load-config.js');

const port = Number(process.env.BENCH_PORT);
const config = loadConfig(JSON.parse(process.env.BENCH_CONFIG_ENV ?? '{}'));
const db = createDb(config.databaseUrl, { max: config.dbPoolMax });
const services = createServices(config, db);
await prepare(services);
const app = await buildApp(services, { logLevel: 'silent' });
await app.listen({ port, host: '127.0.0.1' });

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  const force = setTimeout(() => process.exit(0), 3000);
  force.unref();
  try {
    await app.close();
    await db.destroy();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
process.stdin.on('end', () => void shutdown());
process.stdin.on('error', () => void shutdown());
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'queries') process.stdout.write(`queries ${JSON.stringify(roundTripSnapshot())}\n`);
});

process.stdout.write(`ready ${port}\n`);
