import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { migrationsCurrent } from '../../db/migrate.ts';

export default async function healthRoutes(app: FastifyInstance, opts: { db: Kysely<Database> }) {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    try {
      await sql`SELECT 1`.execute(opts.db);
      if (!(await migrationsCurrent(opts.db))) return reply.status(503).send({ status: 'migrations_pending' });
      return { status: 'ready' };
    } catch {
      return reply.status(503).header('retry-after', '5').send({ status: 'database_unavailable' });
    }
  });
}
