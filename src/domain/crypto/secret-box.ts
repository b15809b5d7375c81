// AES-256-GCM for secrets at rest (signing keys now, TOTP seeds later). The only module that sees the encryption keys.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface SecretBox {
  seal(plaintext: string | Buffer, aad?: string): string;
  open(sealed: string, aad?: string): Buffer;
  /** id of the key new secrets are sealed with */
  readonly currentKeyId: string;
}

/** keys: first one seals, every one opens (rotation: prepend a new key, re-seal, then drop the old one) */
export function createSecretBox(keys: readonly { id: string; key: Buffer }[]): SecretBox {
  const current = keys[0];
  if (!current) throw new Error('secret box needs at least one key');
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  return {
    currentKeyId: current.id,
    seal(plaintext, aad = '') {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(Buffer.from(`${current.id}|${aad}`));
      const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return ['v1', current.id, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed, aad = '') {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== 'v1') throw new Error('secret box: malformed ciphertext');
      const [, kid, iv, ct, tag] = parts as [string, string, string, string, string];
      const key = byId.get(kid);
      if (!key) throw new Error(`secret box: unknown key id "${kid}"`);
      const ivBytes = Buffer.from(iv, 'base64url');
      if (ivBytes.length !== 12) throw new Error('secret box: malformed ciphertext');
      // a fixed tag length: without it Node accepts truncated tags (4 bytes) and forgery gets cheap
      const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: 16 });
      decipher.setAAD(Buffer.from(`${kid}|${aad}`));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]);
    },
  };
}
