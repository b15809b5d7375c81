// Child process: our server, built as src/main.ts builds it (createServices → prepare → buildApp), on a given
// DATABASE_URL and PORT, logs silenced. Prints "ready <port>" once listening; exits when stdin closes (the
// orchestrator died) or on SIGTERM. A line "queries" on stdin is answered with the PostgreSQL round trips so far.
import { buildApp } from '../src/app.ts';
import { createServices, prepare } from '../src/container.ts';
import { createDb } from '../src/db/database.ts';
import { createInterface } from 'node:readline';
import { benchConfig } from './lib/config.ts';
import { countRoundTrips, roundTripSnapshot } from './lib/roundtrips.ts';

countRoundTrips();

const databaseUrl = process.env.BENCH_DATABASE_URL;
const port = Number(process.env.BENCH_PORT);
if (!databaseUrl || !port) {
  console.error('serve-gatehouse: BENCH_DATABASE_URL and BENCH_PORT are required');
  process.exit(2);
}

const config = benchConfig(databaseUrl, port);
const db = createDb(databaseUrl, { max: config.dbPoolMax });
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
// the orchestrator asks for the PostgreSQL round trips so far (bench/lib/roundtrips.ts)
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === 'queries') process.stdout.write(`queries ${JSON.stringify(roundTripSnapshot())}\n`);
});

process.stdout.write(`ready ${port}\n`);
