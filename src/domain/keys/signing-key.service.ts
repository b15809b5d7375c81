// Signing keys live in PostgreSQL, private parts sealed by the secret box. Rotation is two-phase and needs no
// restart: a new key is published at once and signs only after a publish delay longer than relying parties' JWKS
// caches; every node notices within seconds (fingerprint polling); retired keys stay published until every token
// they signed has expired.
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
  activatesAt: Date;
  retiredAt: Date | null;
  state: 'pending' | 'signing' | 'retired';
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

export function createSigningKeyService(deps: { db: Kysely<Database>; box: SecretBox; clock: Clock; retentionSeconds: number; publishDelaySeconds?: number }) {
  const { db, box, clock } = deps;

  async function insert(trx: Kysely<Database>, alg: SigningAlg, activatesAt: Date) {
    const k = generate(alg);
    await trx
      .insertInto('signing_keys')
      .values({ kid: k.kid, alg, private_jwk_sealed: box.seal(JSON.stringify(k.privateJwk), k.kid), public_jwk: JSON.stringify(k.publicJwk), activates_at: activatesAt })
      .execute();
    return k.kid;
  }

  const stateOf = (r: { activates_at: Date; retired_at: Date | null }, now: Date): KeyInfo['state'] =>
    r.activates_at > now ? 'pending' : r.retired_at && r.retired_at <= now ? 'retired' : 'signing';

  /** keys still published: every key not retired longer ago than the retention */
  async function published() {
    const cutoff = new Date(clock.now().getTime() - deps.retentionSeconds * 1000);
    return db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>=', cutoff)]))
      .orderBy('created_at', 'desc')
      .execute();
  }

  return {
    /** first start: one active key per algorithm. Serialised by an advisory lock so two nodes don't both create one. */
    async ensure(): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtext('gatehouse.signing_keys'))`.execute(trx);
        const active = await trx.selectFrom('signing_keys').select('alg').where('retired_at', 'is', null).execute();
        for (const alg of SIGNING_ALGS) {
          if (!active.some((a) => a.alg === alg)) await insert(trx as unknown as Kysely<Database>, alg, clock.now());
        }
      });
    },

    /**
     * A new key per algorithm, published now and signing from `now + publish delay`; the current keys retire at that
     * moment and stay published. Every node picks the change up by itself (fingerprint()).
     */
    async rotate(): Promise<{ kids: string[]; activatesAt: Date }> {
      const activatesAt = new Date(clock.now().getTime() + (deps.publishDelaySeconds ?? 0) * 1000);
      return db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(hashtext('gatehouse.signing_keys'))`.execute(trx);
        await trx.updateTable('signing_keys').set({ retired_at: activatesAt }).where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', activatesAt)])).execute();
        const kids: string[] = [];
        for (const alg of SIGNING_ALGS) kids.push(await insert(trx as unknown as Kysely<Database>, alg, activatesAt));
        await recordAudit(trx, { event: 'key.rotated', data: { kids, activatesAt: activatesAt.toISOString() } });
        return { kids, activatesAt };
      });
    },

    /** deletes retired keys older than the retention (longest token lifetime + JWKS cache margin) */
    async purgeRetired(): Promise<number> {
      const cutoff = new Date(clock.now().getTime() - deps.retentionSeconds * 1000);
      const res = await db.deleteFrom('signing_keys').where('retired_at', '<', cutoff).executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    async list(): Promise<KeyInfo[]> {
      const rows = await db.selectFrom('signing_keys').select(['kid', 'alg', 'created_at', 'activates_at', 'retired_at']).orderBy('created_at', 'desc').execute();
      const now = clock.now();
      return rows.map((r) => ({ kid: r.kid, alg: r.alg, createdAt: r.created_at, activatesAt: r.activates_at, retiredAt: r.retired_at, state: stateOf(r, now) }));
    },

    /** what a node's key set depends on (keys and their states, now): when it changes, the node reloads its keys */
    async fingerprint(): Promise<string> {
      const now = clock.now();
      return (await published()).map((r) => `${r.kid}:${stateOf(r, now)}`).join(',');
    },

    /**
     * Private JWKs for the provider: the signing key of each algorithm first (the provider signs with the first key of
     * an alg), then pending and retired ones (published, verify only).
     */
    async privateJwks(): Promise<Record<string, unknown>[]> {
      const now = clock.now();
      const rows = (await published()).sort((a, b) => Number(stateOf(b, now) === 'signing') - Number(stateOf(a, now) === 'signing'));
      return rows.map((r) => JSON.parse(box.open(r.private_jwk_sealed, r.kid).toString('utf8')) as Record<string, unknown>);
    },
  };
}

export type SigningKeyService = ReturnType<typeof createSigningKeyService>;
