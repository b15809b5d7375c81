// The device cookie (OWASP "device cookies"): a browser that signed in to an account gets a signed cookie naming that
// account and a random nonce. A password attempt from it counts against its own guess counter, so a lock that anyone
// who knows the address can renew never blocks the owner on a browser they have signed in from before.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cookieNames } from '../config/cookie-names.ts';
import type { KnownDevice } from '../domain/users/password-throttle.ts';

// both spellings are read (an http development issuer has no prefix); the https one is written on https issuers
const NAMES = [cookieNames(true).device, cookieNames(false).device];
const MAX_AGE_SECONDS = 365 * 86400;

/** the verified device cookie of this request, if any */
export function knownDevice(req: FastifyRequest): KnownDevice | null {
  const raw = NAMES.map((n) => req.cookies?.[n]).find(Boolean);
  if (!raw) return null;
  const unsigned = req.unsignCookie(raw);
  if (!unsigned.valid || !unsigned.value) return null;
  const m = /^([0-9a-f-]{36})\.(\d{1,9})\.([A-Za-z0-9_-]{22,64})$/i.exec(unsigned.value);
  return m ? { userId: m[1]!, epoch: Number(m[2]), nonce: m[3]! } : null;
}

/** after a right password: this browser is now known for this user (kept if it already was) */
export function rememberDevice(req: FastifyRequest, reply: FastifyReply, userId: string, epoch: number, secure: boolean): void {
  const known = knownDevice(req);
  if (known?.userId === userId && known.epoch === epoch) return;
  reply.setCookie(cookieNames(secure).device, `${userId}.${epoch}.${randomBytes(16).toString('base64url')}`, { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: MAX_AGE_SECONDS });
}
