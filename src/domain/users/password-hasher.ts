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
    // only upwards: a node configured with weaker parameters must never downgrade stored hashes
    needsRehash(hash) {
      const m = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
      if (!m) return true;
      return Number(m[1]) < 19 || Number(m[2]) < params.memoryCost || Number(m[3]) < params.timeCost;
    },
  };
  return hasher;
}
