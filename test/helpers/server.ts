import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../src/domain/clock.ts';
import { buildApp } from '../../src/app.ts';
import { createServices, prepare, type Services } from '../../src/container.ts';
import { createDb } from '../../src/db/database.ts';
import { newDatabase } from './db.ts';
import { testConfig } from './config.ts';
import { freePort } from './net.ts';

export { freePort };


export interface TestServer {
  issuer: string;
  databaseUrl: string;
  services: Services;
  app: FastifyInstance;
  close(): Promise<void>;
}

/** a real Gatehouse on a loopback port with its own database; closed after the test */
export async function startServer(
  t: { after(fn: () => Promise<void>): void },
  opts: { env?: Record<string, string>; databaseUrl?: string; logStream?: NodeJS.WritableStream; clock?: Clock; issuerHost?: string } = {},
): Promise<TestServer> {
  const fresh = opts.databaseUrl ? undefined : await newDatabase();
  const databaseUrl = opts.databaseUrl ?? fresh!.url;
  const port = await freePort();
  const config = testConfig({ DATABASE_URL: databaseUrl, PORT: String(port), GATEHOUSE_ISSUER: `http://${opts.issuerHost ?? '127.0.0.1'}:${port}`, ...opts.env });
  const db = createDb(databaseUrl, { max: config.dbPoolMax, preparedStatements: config.dbPreparedStatements });
  const services = createServices(config, db, opts.clock);
  await prepare(services);
  const app = await buildApp(services, { mailIntervalMs: 100, ...(opts.logStream ? { logLevel: 'info', logStream: opts.logStream } : {}) });
  await app.listen({ port, host: '127.0.0.1' });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const closing = app.close();
    setTimeout(() => app.server.closeAllConnections(), 2000).unref();
    await closing;
    await db.destroy();
  };
  // one hook, in this order: after-hooks run in registration order, and dropping first would kill live connections
  t.after(async () => {
    await close();
    await fresh?.drop();
  });
  return { issuer: config.issuer, databaseUrl, services, app, close };
}
