// The personal access token format: `gat_` + 192 random bits in base62 + a CRC-32 checksum in base62, like GitHub's
// and GitLab's prefixed tokens. The prefix lets secret scanners find leaked tokens; the checksum lets them (and us)
// tell a real token from a look-alike without a database read. Only the SHA-256 of a token is stored.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const PERSONAL_TOKEN_PREFIX = 'gat_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 33; // 62^33 > 2^192
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32

function base62(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = BASE62[Number(value % 62n)]! + out;
    value /= 62n;
  }
  return out;
}

const checksum = (body: string) => base62(BigInt(crc32(body)), CHECKSUM_LENGTH);

export function newPersonalToken(): string {
  const body = base62(BigInt(`0x${randomBytes(24).toString('hex')}`), BODY_LENGTH);
  return `${PERSONAL_TOKEN_PREFIX}${body}${checksum(body)}`;
}

/** the right shape and a matching checksum (says nothing about whether the token exists) */
export function isPersonalToken(value: string): boolean {
  if (value.length !== PERSONAL_TOKEN_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH || !value.startsWith(PERSONAL_TOKEN_PREFIX)) return false;
  const rest = value.slice(PERSONAL_TOKEN_PREFIX.length);
  if (!/^[0-9A-Za-z]+$/.test(rest)) return false;
  return checksum(rest.slice(0, BODY_LENGTH)) === rest.slice(BODY_LENGTH);
}
