import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

/** the browser half of SimpleWebAuthn, from our own origin (no CDN; CSP script-src 'self'), read once at start */
export const WEBAUTHN_BROWSER_PATH = '/static/vendor/simplewebauthn-browser.js';

export default async function vendorAssets(app: FastifyInstance) {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const bundle = readFileSync(path.join(path.dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js'));
  app.get(WEBAUTHN_BROWSER_PATH, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(bundle));
}
