import type { FastifyServerOptions } from 'fastify';

/** query parameters whose values never reach a log line (tokens, codes, hints that carry an ID token) */
const SECRET_PARAMS = /^(code|code_verifier|id_token_hint|token|refresh_token|access_token|client_secret|request|login_hint_token|user_code|password|state|nonce)$/i;

export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) if (SECRET_PARAMS.test(key)) params.set(key, '[redacted]');
  return `${url.slice(0, q)}?${params.toString()}`;
}

export function loggerOptions(level: string, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  if (level === 'silent') return false;
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
    serializers: {
      req(req: { method: string; url: string; ip?: string; headers?: Record<string, unknown> }) {
        return { method: req.method, url: redactUrl(req.url), ip: req.ip, ua: req.headers?.['user-agent'] };
      },
    },
  };
}
