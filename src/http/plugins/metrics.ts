import { bearerToken } from '../bearer.ts';
import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
  interface FastifyRequest {
    metricsStart?: bigint;
  }
}

export interface Metrics {
  registry: Registry;
  loginOutcomes: Counter<'outcome'>;
}

export interface MetricsOptions {
  /** bearer token a scraper must send (GATEHOUSE_METRICS_TOKEN) */
  token?: string;
  production: boolean;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * Who may read /metrics: with a token configured, whoever sends it (constant-time compare); without one, nobody in
 * production (404, as if it did not exist) and, in development, direct loopback connections only (not through a proxy).
 */
function access(req: FastifyRequest, opts: MetricsOptions): 'ok' | 'unauthorized' | 'hidden' {
  if (opts.token) {
    const presented = bearerToken(req.headers.authorization);
    return presented && timingSafeEqual(digest(presented), digest(opts.token)) ? 'ok' : 'unauthorized';
  }
  if (opts.production) return 'hidden';
  const direct = !req.headers['x-forwarded-for'] && !req.headers.forwarded;
  return direct && LOOPBACK.test(req.socket.remoteAddress ?? '') ? 'ok' : 'hidden';
}

/** Prometheus metrics: request counts and latencies by route, login outcomes. Served at /metrics (see access()). */
export default fp(
  async (app, opts: MetricsOptions) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const requests = new Counter({ name: 'gatehouse_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [registry] });
    const duration = new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    const loginOutcomes = new Counter({ name: 'gatehouse_login_outcomes_total', help: 'Sign-in outcomes', labelNames: ['outcome'], registers: [registry] });
    app.decorate('metrics', { registry, loginOutcomes });

    // a callback hook, not an async one: no promise per request on every route
    app.addHook('onRequest', (req, reply, done) => {
      const start = process.hrtime.bigint();
      const route = req.routeOptions.url ?? 'unmatched';
      // 'finish' also fires for responses oidc-provider writes after reply.hijack()
      reply.raw.once('finish', () => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        requests.inc({ method: req.method, route, status: String(reply.raw.statusCode) });
        duration.observe({ method: req.method, route }, seconds);
      });
      done();
    });

    app.get('/metrics', async (req, reply) => {
      reply.header('cache-control', 'no-store');
      const allowed = access(req, opts);
      if (allowed === 'hidden') return reply.callNotFound();
      if (allowed === 'unauthorized') {
        return reply.status(401).header('www-authenticate', 'Bearer realm="metrics"').send({ error: 'unauthorized', message: 'Send the metrics token: Authorization: Bearer <token>.' });
      }
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics' },
);
