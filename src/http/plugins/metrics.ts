import fp from 'fastify-plugin';
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

/** Prometheus metrics: request counts and latencies by route, login outcomes. Served at /metrics. */
export default fp(
  async (app) => {
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

    app.addHook('onRequest', async (req, reply) => {
      const start = process.hrtime.bigint();
      const route = req.routeOptions.url ?? 'unmatched';
      // 'finish' also fires for responses oidc-provider writes after reply.hijack()
      reply.raw.once('finish', () => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        requests.inc({ method: req.method, route, status: String(reply.raw.statusCode) });
        duration.observe({ method: req.method, route }, seconds);
      });
    });

    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'metrics' },
);
