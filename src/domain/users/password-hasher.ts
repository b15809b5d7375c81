import argon2 from 'argon2';
import { Semaphore } from '../semaphore.ts';

export interface PasswordHasherParams {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** verifies; with hash undefined it still spends one verify on a dummy hash (unknown users cost the same) */
  verify(hash: string | null | undefined, password: string): Promise<boolean>;
  needsRehash(hash: string): boolean;
}

export function createPasswordHasher(params: PasswordHasherParams, concurrency: number): PasswordHasher {
  const gate = new Semaphore(concurrency);
  const options = { type: argon2.argon2id, ...params };
  let dummy: Promise<string> | undefined;
  const hasher: PasswordHasher = {
    hash: (password) => gate.run(() => argon2.hash(password.normalize('NFC'), options)),
    async verify(hash, password) {
      const target = hash ?? (await (dummy ??= hasher.hash('gatehouse-dummy-password-for-timing')));
      try {
        const ok = await gate.run(() => argon2.verify(target, password.normalize('NFC')));
        return ok && hash !== undefined && hash !== null;
      } catch {
        return false;
      }
    },
    needsRehash: (hash) => argon2.needsRehash(hash, options),
  };
  return hasher;
}
