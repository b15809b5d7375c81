// Child process: our server as `npm start` runs it — the built code (dist/, `npm run build`), no tsx — assembled as
// src/main.ts assembles it (createServices → prepare → buildApp), with the configuration the orchestrator passes as
// the environment loadConfig reads (BENCH_CONFIG_ENV, JSON), logs silenced. Prints "ready <port>" once listening;
// exits when stdin closes (the orchestrator died) or on SIGTERM. A line "queries" on stdin is answered with the
// PostgreSQL round trips so far (bench/lib/roundtrips.js), "memory" with process.memoryUsage(), "statements" with the statements captured since the last
// call, "profile-start" / "profile-stop <file>" with a V8 CPU profile of this process over the lines between them.
// BENCH_TTL (JSON, seconds) shortens token, session and sign-in lifetimes for the sustained run (S2) only: minutes
// of run then stand in for hours of production; no setting of the product offers lifetimes that short.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import { countRoundTrips, roundTripSnapshot, takeStatements } from './lib/roundtrips.js';

countRoundTrips();
const { buildApp } = await import('../dist/src/app.js');
const { createServices, prepare } = await import('../dist/src/container.js');
const { createDb } = await import('../dist/src/db/database.js');
const { loadConfig } = await import('../dist/src/config/load-config.js');

const port = Number(process.env.BENCH_PORT);
const loaded = loadConfig(JSON.parse(process.env.BENCH_CONFIG_ENV ?? '{}'));
const config = process.env.BENCH_TTL ? { ...loaded, ttl: { ...loaded.ttl, ...JSON.parse(process.env.BENCH_TTL) } } : loaded;
const db = createDb(config.databaseUrl, { max: config.dbPoolMax, preparedStatements: config.dbPreparedStatements });
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
let inspector;
createInterface({ input: process.stdin }).on('line', async (line) => {
  const command = line.trim();
  if (command === 'queries') process.stdout.write(`queries ${JSON.stringify(roundTripSnapshot())}\n`);
  else if (command === 'statements') process.stdout.write(`statements ${JSON.stringify(takeStatements())}\n`);
  else if (command === 'memory') process.stdout.write(`memory ${JSON.stringify(process.memoryUsage())}\n`);
  else if (command === 'profile-start') {
    if (!inspector) {
      inspector = new Session();
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.setSamplingInterval', { interval: 500 }); // µs
    }
    await inspector.post('Profiler.start');
    process.stdout.write('profiling\n');
  } else if (command.startsWith('profile-stop ')) {
    const file = JSON.parse(command.slice('profile-stop '.length));
    const { profile } = await inspector.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    process.stdout.write('profiled\n');
  }
});

process.stdout.write(`ready ${port}\n`);
