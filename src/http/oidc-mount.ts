import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * oidc-provider's koa app, mounted in its own encapsulated context: no body parsers here (the provider reads
 * the raw request itself; a parsed body would make the token endpoint see no client authentication).
 */
export default async function oidcMount(app: FastifyInstance, opts: { callback: (req: IncomingMessage, res: ServerResponse) => void }) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  const handler = async (req: { raw: IncomingMessage }, reply: { hijack(): void; raw: ServerResponse }) => {
    reply.hijack();
    opts.callback(req.raw, reply.raw);
  };
  for (const url of ['/.well-known/*', '/oidc/*']) {
    app.route({ method: ['GET', 'POST', 'OPTIONS', 'HEAD', 'DELETE', 'PUT'], url, handler, });
  }
}
