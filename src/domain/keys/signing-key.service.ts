// Signing keys live in PostgreSQL, private parts sealed by the secret box. Newest key signs; retired keys stay
// published until every token they signed has expired.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { Clock } from '../clock.ts';
import type { SecretBox } from '../crypto/secret-box.ts';

export type SigningAlg = 'ES256' | 'RS256';
export const SIGNING_ALGS: SigningAlg[] = ['ES256', 'RS256'];

export interface KeyInfo {
  kid: string;
  alg: string;
  createdAt: Date;
  retiredAt: Date | null;
}

function generate(alg: SigningAlg): { kid: string; privateJwk: Record<string, unknown>; publicJwk: Record<string, unknown> } {
  const { privateKey, publicKey } =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(12).toString('base64url');
  const meta = { kid, alg, use: 'sig' };
  return {
    kid,
    privateJwk: { ...privateKey.export({ format: 'jwk' }), ...meta },
    publicJwk: { ...publicKey.export({ format: 'jwk' }), ...meta },
  };
}

export function createSigningKeyService(deps: { db: Kysely<Database>; box: SecretBox; clock: Clock; retentionSeconds: number }) {
  const { db, box, clock } = deps;

  async function insert(trx: Kysely<Database>, alg: SigningAlg) {
    const k = generate(alg);
    await trx
      .insertInto('signing_keys')
      .values({ kid: k.kid, alg, private_jwk_sealed: box.seal(JSON.stringify(k.privateJwk), k.kid), public_jwk: JSON.stringify(k.publicJwk) })
      .execute();
    return k.kid;
  }

  return {
    /** first start: one active key per algorithm. Serialised by an advisory lock so two nodes don't both create one. */
    async ensure(): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtext('gatehouse.signing_keys'))`.execute(trx);
        const active = await trx.selectFrom('signing_keys').select('alg').where('retired_at', 'is', null).execute();
        for (const alg of SIGNING_ALGS) {
          if (!active.some((a) => a.alg === alg)) await insert(trx as unknown as Kysely<Database>, alg);
        }
      });
    },

    /** a new key per algorithm takes over signing; the old ones are retired but stay published */
    async rotate(): Promise<string[]> {
      return db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtext('gatehouse.signing_keys'))`.execute(trx);
        await trx.updateTable('signing_keys').set({ retired_at: clock.now() }).where('retired_at', 'is', null).execute();
        const kids: string[] = [];
        for (const alg of SIGNING_ALGS) kids.push(await insert(trx as unknown as Kysely<Database>, alg));
        await recordAudit(trx, { event: 'key.rotated', data: { kids } });
        return kids;
      });
    },

    /** deletes retired keys older than the retention (longest token lifetime + JWKS cache margin) */
    async purgeRetired(): Promise<number> {
      const cutoff = new Date(clock.now().getTime() - deps.retentionSeconds * 1000);
      const res = await db.deleteFrom('signing_keys').where('retired_at', '<', cutoff).executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    async list(): Promise<KeyInfo[]> {
      const rows = await db.selectFrom('signing_keys').select(['kid', 'alg', 'created_at', 'retired_at']).orderBy('created_at', 'desc').execute();
      return rows.map((r) => ({ kid: r.kid, alg: r.alg, createdAt: r.created_at, retiredAt: r.retired_at }));
    },

    /** private JWKs for the provider: active keys first (the first key of an alg signs), then retired ones (verify only) */
    async privateJwks(): Promise<Record<string, unknown>[]> {
      const cutoff = new Date(clock.now().getTime() - deps.retentionSeconds * 1000);
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>=', cutoff)]))
        .orderBy(sql`retired_at IS NOT NULL`)
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map((r) => JSON.parse(box.open(r.private_jwk_sealed, r.kid).toString('utf8')) as Record<string, unknown>);
    },
  };
}

export type SigningKeyService = ReturnType<typeof createSigningKeyService>;
