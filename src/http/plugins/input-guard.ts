import fp from 'fastify-plugin';
import { ValidationError } from '../../domain/errors.ts';

/** PostgreSQL text and jsonb cannot hold U+0000: such input is refused before any handler or query sees it */
export class NulCharacterError extends ValidationError {
  constructor() {
    super('invalid_request', 'The request contains a character that is not allowed (NUL, U+0000). Remove it and try again.');
  }
}

const NUL = '\u0000';

/** true when any string in a parsed query, params or JSON/form body (nested) contains U+0000 */
export function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes(NUL);
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  if (Buffer.isBuffer(value)) return urlencodedHasNul(value);
  for (const [k, v] of Object.entries(value)) if (k.includes(NUL) || hasNul(v, depth + 1)) return true;
  return false;
}

/** an application/x-www-form-urlencoded body, as the provider would decode it */
export function urlencodedHasNul(raw: Buffer | string): boolean {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.includes(NUL)) return true;
  if (!/%00/i.test(text)) return false;
  for (const [k, v] of new URLSearchParams(text)) if (k.includes(NUL) || v.includes(NUL)) return true;
  return false;
}

/**
 * One check for every route (ours and the mounted provider's): query, path parameters and body. It runs before
 * validation and before any handler, so a NUL byte is a 400 with a stable code and nothing is written.
 */
export default fp(
  async (app) => {
    // a callback hook, not an async one: no promise per request on every route
    app.addHook('preValidation', (req, _reply, done) => done(hasNul(req.query) || hasNul(req.params) || hasNul(req.body) ? new NulCharacterError() : undefined));
  },
  { name: 'input-guard' },
);
