// Recovery codes: 10 codes of 24 Crockford base32 characters (120 bits each), stored as SHA-256 over (user id, code)
// and consumed by one conditional UPDATE. When they may be viewed again (GATEHOUSE_RECOVERY_CODES_VIEWABLE), each
// code also has an AES-256-GCM sealed copy (secret box, key id, AAD bound to the user and the batch); sign-in still
// checks the hash only, and a used code loses its sealed copy in the same UPDATE.
import { createHash, randomInt } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import type { SecretBox } from '../crypto/secret-box.ts';

/** present when codes are kept viewable */
export interface RecoveryCodeSealing {
  box: SecretBox;
}

export const recoveryCodeAad = (userId: string, batchId: string) => `recovery-code:${userId}:${batchId}`;

export const CODE_COUNT = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
// Not shortened towards 80 bits (16 characters): below 112 bits NIST SP 800-63B wants look-up secrets stored with a
// slow salted key derivation instead of SHA-256, which would cost up to ten argon2 runs per recovery-code attempt.
// Six groups of four, any case, dashes optional, is what people type.
const LENGTH = 24;

export function newCode(): string {
  let s = '';
  for (let i = 0; i < LENGTH; i++) s += ALPHABET[randomInt(32)];
  return s.match(/.{4}/g)!.join('-');
}

/** what people type: any case, with or without dashes or spaces; Crockford's look-alikes mapped */
export function normalizeRecoveryCode(input: string): string | null {
  const s = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return s.length === LENGTH && [...s].every((c) => ALPHABET.includes(c)) ? s : null;
}

function hashCode(userId: string, normalized: string): string {
  return createHash('sha256').update(`${userId}:${normalized}`).digest('hex');
}

/** replaces every earlier code of the user in one statement pair (call inside a transaction) */
export async function issueRecoveryCodes(trx: Db, userId: string, sealing?: RecoveryCodeSealing): Promise<string[]> {
  const codes = Array.from({ length: CODE_COUNT }, newCode);
  const batch = crypto.randomUUID();
  await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  await trx
    .insertInto('recovery_codes')
    .values(codes.map((c) => ({ user_id: userId, batch_id: batch, code_hash: hashCode(userId, normalizeRecoveryCode(c)!), code_sealed: sealing ? sealing.box.seal(c, recoveryCodeAad(userId, batch)) : null })))
    .execute();
  return codes;
}

/** the unused codes of the user's batch, opened; `hidden`: unused codes kept as a hash only (from before viewing was on) */
export async function viewRecoveryCodes(db: Db, userId: string, sealing: RecoveryCodeSealing): Promise<{ codes: string[]; hidden: number }> {
  const rows = await db.selectFrom('recovery_codes').select(['batch_id', 'code_sealed']).where('user_id', '=', userId).where('used_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  const codes = rows.filter((r) => r.code_sealed).map((r) => sealing.box.open(r.code_sealed!, recoveryCodeAad(userId, r.batch_id)).toString('utf8'));
  return { codes: codes.sort(), hidden: rows.length - codes.length };
}

/** viewing switched off: the sealed copies go, only the hashes stay (run at start-up) */
export async function dropSealedRecoveryCodes(db: Db): Promise<number> {
  const res = await db.updateTable('recovery_codes').set({ code_sealed: null }).where('code_sealed', 'is not', null).executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export async function consumeRecoveryCode(db: Db, userId: string, input: string): Promise<boolean> {
  const normalized = normalizeRecoveryCode(input);
  if (!normalized) return false;
  const res = await db
    .updateTable('recovery_codes')
    .set({ used_at: new Date(), code_sealed: null })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hashCode(userId, normalized))
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function remainingRecoveryCodes(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('recovery_codes')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
