// Re-sealing after an encryption-key change: every value sealed at rest with a key other than the current one is
// opened and sealed again with the current key, so that the old key can then be dropped from GATEHOUSE_ENCRYPTION_KEYS.
// Run it (`gatehouse keys reseal`) only once every node has the new key first: a node that does not know the new key
// cannot open what this writes.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/database.ts';
import { upstreamSecretAad } from '../federation/upstream.service.ts';
import { verifierAad } from '../federation/federation.service.ts';
import { recoveryCodeAad } from '../mfa/recovery-codes.ts';
import { totpAad } from '../mfa/totp.service.ts';
import type { SecretBox } from './secret-box.ts';

export interface ResealCount {
  resealed: number;
  /** sealed with a key this node does not have (already dropped): left as they are */
  unreadable: number;
}

interface SealedValue {
  /** the row's key, as text */
  id: string;
  sealed: string;
  /** the additional data the value was sealed with */
  aad: string;
}

interface SealedColumn {
  /** keyset page of values sealed with another key than `kid`, after `after` */
  page(db: Db, kid: string, after: string): Promise<SealedValue[]>;
  /** swaps the value only if it is still the one read (a node may have rewritten it meanwhile) */
  swap(db: Db, v: SealedValue, next: string): Promise<void>;
}

const PAGE = 500;

/** a text column sealed with an AAD computed from the row (columns of the same row) */
function column(table: string, id: string, col: string, fields: string[], aad: (row: Record<string, string>) => string): SealedColumn {
  const t = sql.table(table);
  const c = sql.ref(col);
  const key = sql<string>`${sql.ref(id)}::text`;
  return {
    async page(db, kid, after) {
      const { rows } = await sql<Record<string, string>>`
        SELECT ${key} AS row_id, ${c} AS sealed, ${sql.join(fields.map((f) => sql`${sql.ref(f)}::text AS ${sql.ref(f)}`))}
        FROM ${t} WHERE ${c} IS NOT NULL AND split_part(${c}, '.', 2) <> ${kid} AND ${key} > ${after}
        ORDER BY ${key} LIMIT ${PAGE}`.execute(db);
      return rows.map((r) => ({ id: r.row_id!, sealed: r.sealed!, aad: aad(r) }));
    },
    async swap(db, v, next) {
      await sql`UPDATE ${t} SET ${c} = ${next} WHERE ${key} = ${v.id} AND ${c} = ${v.sealed}`.execute(db);
    },
  };
}

// the provider's rows (src/oidc/adapter.ts) keep their secrets in payload.sealed, with the model's name as AAD
const providerRows: SealedColumn = {
  async page(db, kid, after) {
    const key: RawBuilder<string> = sql`model || '/' || id`;
    const { rows } = await sql<{ row_id: string; model: string; sealed: string }>`
      SELECT ${key} AS row_id, model, payload->>'sealed' AS sealed FROM oidc_payloads
      WHERE payload ? 'sealed' AND split_part(payload->>'sealed', '.', 2) <> ${kid} AND ${key} > ${after}
      ORDER BY ${key} LIMIT ${PAGE}`.execute(db);
    return rows.map((r) => ({ id: r.row_id, sealed: r.sealed, aad: r.model }));
  },
  async swap(db, v, next) {
    await sql`UPDATE oidc_payloads SET payload = jsonb_set(payload, '{sealed}', to_jsonb(${next}::text))
      WHERE model || '/' || id = ${v.id} AND payload->>'sealed' = ${v.sealed}`.execute(db);
  },
};

/** every place a value is sealed at rest; a new sealed column belongs here */
export const SEALED_COLUMNS: Record<string, SealedColumn> = {
  totp_credentials: column('totp_credentials', 'id', 'secret_sealed', ['user_id'], (r) => totpAad(r.user_id!)),
  recovery_codes: column('recovery_codes', 'id', 'code_sealed', ['user_id', 'batch_id'], (r) => recoveryCodeAad(r.user_id!, r.batch_id!)),
  upstream_providers: column('upstream_providers', 'id', 'client_secret_sealed', ['name'], (r) => upstreamSecretAad(r.name!)),
  federation_requests: column('federation_requests', 'state', 'verifier_sealed', ['state'], (r) => verifierAad(r.state!)),
  signing_keys: column('signing_keys', 'kid', 'private_jwk_sealed', ['kid'], (r) => r.kid!),
  oidc_payloads: providerRows,
};

/** re-seals everything not sealed with the box's current key; returns the counts per table */
export async function resealAll(db: Db, box: SecretBox): Promise<Record<string, ResealCount>> {
  const out: Record<string, ResealCount> = {};
  for (const [name, col] of Object.entries(SEALED_COLUMNS)) {
    const count: ResealCount = { resealed: 0, unreadable: 0 };
    let after = '';
    for (;;) {
      const page = await col.page(db, box.currentKeyId, after);
      for (const v of page) {
        let plain: Buffer;
        try {
          plain = box.open(v.sealed, v.aad);
        } catch {
          count.unreadable++;
          continue;
        }
        await col.swap(db, v, box.seal(plain, v.aad));
        count.resealed++;
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.id;
    }
    out[name] = count;
  }
  return out;
}

/** how many values are still sealed with another key than the current one (0: the old keys can go) */
export async function countForeignSealed(db: Db, box: SecretBox): Promise<number> {
  let n = 0;
  for (const col of Object.values(SEALED_COLUMNS)) n += (await col.page(db, box.currentKeyId, '')).length;
  return n;
}
