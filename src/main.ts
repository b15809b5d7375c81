// The only file that listens. Loads config, opens the database, prepares, serves; shuts down gracefully.
import { loadConfig, ConfigError } from './config/load-config.ts';
import { buildApp } from './app.ts';
import { createServices, openDatabase, prepare } from './container.ts';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const bootLog = {
    info: (o: unknown, m?: string) => console.log(m ?? o),
    warn: (o: unknown, m?: string) => console.warn(m ?? o),
    error: (o: unknown, m?: string) => console.error(m ?? o),
    debug: () => {},
  };
  const { db, embedded } = await openDatabase(config, bootLog);
  const services = createServices(config, db);
  await prepare(services);
  const app = await buildApp(services);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    try {
      const closing = app.close();
      // connections that never send a request (browser preconnects) would hold close() for a minute
      setTimeout(() => app.server.closeAllConnections(), 5000).unref();
      await closing;
      await db.destroy();
      await embedded?.stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  await app.listen({ port: config.port, host: config.host });
  const lines = [
    '',
    `Gatehouse is running at ${config.issuer}`,
    `  discovery: ${config.issuer}/.well-known/openid-configuration`,
    `  database:  ${embedded ? `embedded PostgreSQL in ${embedded.dir}` : 'DATABASE_URL'}`,
    `  email:     ${config.smtpUrl ? 'sent through SMTP_URL' : 'not sent: set SMTP_URL. Until then each message (with its links) is written to this log as "email (development sink …)"'}`,
    `  account:   ${config.issuer}/account${config.signupEnabled ? `   sign-up: ${config.issuer}/signup` : ''}`,
    '',
    'Create the first admin and an app (in another terminal):',
    '  echo "a long passphrase of yours" | npx gatehouse user create --email admin@example.com --name "Admin" --password-stdin',
    '  npx gatehouse tenant create --slug acme --name "Acme"',
    '  npx gatehouse tenant add-member acme --email admin@example.com --role owner      # then open /admin',
    '  npx gatehouse client create --name "My app" --redirect-uri http://localhost:8080/callback --first-party',
    '',
  ];
  if (config.generatedSecrets.length) {
    lines.push(`Development secrets (${config.generatedSecrets.join(', ')}) were generated in ${config.dataDir}/secrets.json.`, '');
  }
  console.log(lines.join('\n'));
}

main().catch((err) => {
  console.error(`Gatehouse failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
