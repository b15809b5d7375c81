import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance } from 'fastify';
import { CHALLENGE_PATH, type ChallengeEndpoint, type ChallengeParams } from '../../oidc/challenge-endpoint.ts';

const text = { type: 'string', maxLength: 4096 } as const;
const body = {
  type: 'object',
  properties: Object.fromEntries(['client_id', 'client_secret', 'username', 'password', 'otp', 'recovery_code', 'auth_session', 'scope', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'acr_values'].map((k) => [k, text])),
} as const;

/** HTTP Basic client credentials (RFC 6749 2.3.1), if sent */
function basicAuth(header: string | undefined): { id: string; secret: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { id: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
}

/** POST /oidc/authorize-challenge: the terminal's sign-in (src/oidc/challenge-endpoint.ts); JSON errors, never HTML. */
export default async function oidcChallenge(app: FastifyInstance, opts: { challenge: ChallengeEndpoint }) {
  await app.register(formbody);
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) throw err;
    return reply.status(status).header('cache-control', 'no-store').send({ error: 'invalid_request', error_description: err.message });
  });
  app.post<{ Body: ChallengeParams }>(CHALLENGE_PATH, { schema: { body } }, async (req, reply) => {
    let basic: { id: string; secret: string } | undefined;
    try {
      basic = basicAuth(req.headers.authorization);
    } catch {
      return reply.status(400).send({ error: 'invalid_request', error_description: 'Malformed Authorization header.' });
    }
    const answer = await opts.challenge(req.body ?? {}, basic, { ip: req.ip, userAgent: req.headers['user-agent'] });
    if (answer.retryAfter) reply.header('retry-after', String(answer.retryAfter));
    return reply.status(answer.status).header('cache-control', 'no-store').send(answer.body);
  });
}
