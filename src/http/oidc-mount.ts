import type { FastifyError, FastifyInstance } from 'fastify';
import { IncomingMessage, type ServerResponse } from 'node:http';
import { NulCharacterError } from './plugins/input-guard.ts';

/** the provider's own limit for urlencoded bodies (oidc-provider selective_body) */
const PROVIDER_BODY_LIMIT = 56 * 1024;

/**
 * The body was read here (so the input guard could check it): the provider gets a request that replays the same
 * bytes with the same headers, exactly as if it read the socket itself.
 */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  Object.assign(copy, {
    method: req.method,
    url: req.url,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    complete: true,
  });
  copy.push(body);
  copy.push(null);
  return copy;
}

/**
 * oidc-provider's koa app, mounted in its own encapsulated context. urlencoded bodies are read as raw bytes (never
 * parsed: a parsed body would make the token endpoint see no client authentication) so that the input guard sees
 * them; the provider then reads the same bytes. Other bodies are left on the socket for the provider.
 */
export default async function oidcMount(app: FastifyInstance, opts: { callback: (req: IncomingMessage, res: ServerResponse) => void }) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit: PROVIDER_BODY_LIMIT }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  // protocol clients get an OAuth error body; browsers get the application's error page (the parent handler)
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof NulCharacterError && !req.headers.accept?.includes('text/html')) {
      return reply.status(400).header('cache-control', 'no-store').send({ error: 'invalid_request', error_description: 'parameters must not contain NUL characters' });
    }
    throw err;
  });
  const handler = async (req: { raw: IncomingMessage; body?: unknown }, reply: { hijack(): void; raw: ServerResponse }) => {
    reply.hijack();
    opts.callback(Buffer.isBuffer(req.body) ? replay(req.raw, req.body) : req.raw, reply.raw);
  };
  for (const url of ['/.well-known/*', '/oidc/*']) {
    app.route({ method: ['GET', 'POST', 'OPTIONS', 'HEAD', 'DELETE', 'PUT'], url, handler, });
  }
}
