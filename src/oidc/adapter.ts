// oidc-provider storage in PostgreSQL. Every model lives in oidc_payloads; clients come from oidc_clients.
// Token values and session ids are stored as SHA-256 digests (a read-only leak of the table yields nothing usable),
// and every row that speaks for a user carries that user's credential epoch: when the epoch moves, the row is dead.
import { sql, type InsertObject, type Kysely, type OnConflictBuilder, type RawBuilder } from 'kysely';
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/database.ts';
import { compiledOnce } from '../db/compiled.ts';
import { isLive, readInteractionAhead, readsAhead, readTokenAhead, type ReadAheadModel, type StoredRow } from './payload-reads.ts';
import { POLICY_INPUTS, policyInputsKey } from './login-policy.ts';
import { deferConsume, deferWrite, dropHeldOfGrant, forgetRows, heldWrite, holdWrite, inProviderRequest, inRequest, recallRow, rememberEpoch, rememberRow, takeWriteAlong } from './request-scope.ts';
import type { ClientService } from '../domain/clients/client.service.ts';
import type { SecretBox } from '../domain/crypto/secret-box.ts';
import { openSecrets, payloadRow, storedId, writePayload } from './payload-rows.ts';
import { DEFERRED_CONSUME } from './rotation.ts';
import type { MfaPolicy, PolicyInputRow } from '../domain/mfa/mfa-policy.ts';
import { PERSONAL_TOKEN_PREFIX } from '../domain/tokens/personal-token-format.ts';
import { PERSONAL_TOKEN_CLIENT_ID, type PersonalTokenService } from '../domain/tokens/personal-token.service.ts';

/** marker kept in client_secret: the real secret is never stored, see compareClientSecret in provider.ts */
export const HASHED_SECRET_PREFIX = 'sha256:';
export const CLIENT_CACHE_MS = 5000;

/** a live row by id, uid or user code: compiled once per column (db/compiled.ts) */
const findLive = compiledOnce((db: Kysely<Database>, column: 'id' | 'uid' | 'user_code', model: string, value: string) =>
  db.selectFrom('oidc_payloads').select(['payload', 'consumed_at', 'account_id', 'credential_epoch']).where('model', '=', model).where(column, '=', value).where(isLive('oidc_payloads')),
);

/** everything issued from a grant, and the grant itself */
async function revokeGrant(db: Kysely<Database>, grantId: string): Promise<void> {
  await db
    .deleteFrom('oidc_payloads')
    .where((eb) => eb.or([eb('grant_id', '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)])]))
    .execute();
}

/** the rows a redemption issues, which wait for its postponed consume (request-scope.ts) */
const ISSUED_WITH_REDEMPTION = new Set(['AccessToken', 'RefreshToken']);

/**
 * the models a sign-in's return writes (the interaction destroyed; the grant, the code and the session saved; on a
 * device's sign-in, its device code authorized): inside a provider request their writes are held to its end and go
 * out as one statement (request-scope.ts, held-writes.ts). A device code is held with them: written before its grant
 * and session, a device polling in between would be refused for good.
 */
const WRITTEN_AT_END = new Set(['Interaction', 'Grant', 'AuthorizationCode', 'Session', 'DeviceCode', 'BackchannelAuthenticationRequest']);

/** tokens a user can redeem or use: checked against today's 2FA policy every time they are read */
const GUARDED = new Set(['RefreshToken', 'AccessToken', 'AuthorizationCode', 'DeviceCode']);

/**
 * A personal access token read as the provider's AccessToken model, so that the standard introspection endpoint
 * (it has no grant: userinfo refuses it) answer for it: a fixed client, the creator's sign-in provenance, the organization it is bound to.
 */
async function personalTokenPayload(value: string, tokens: Pick<PersonalTokenService, 'findLive'>): Promise<AdapterPayload | undefined> {
  const t = await tokens.findLive(value);
  if (!t) return undefined;
  return {
    jti: value,
    kind: 'AccessToken',
    gty: 'personal_token',
    accountId: t.userId,
    clientId: PERSONAL_TOKEN_CLIENT_ID,
    scope: t.scopes.join(' '),
    iat: t.issuedAt,
    exp: t.expiresAt,
    extra: { amr: t.amr, acr: t.acr, auth_time: t.authTime, ...(t.tenantSlug ? { tenant: t.tenantSlug } : {}) },
  } as AdapterPayload;
}

export function createAdapterFactory(db: Kysely<Database>, clients: ClientService, box: SecretBox, policy?: MfaPolicy, personalTokens?: Pick<PersonalTokenService, 'findLive' | 'revokeByValue'>) {
  // clients are read on every token and authorization request: a short cache spares a query each time
  // (changes made with the CLI, in another process, take effect within CLIENT_CACHE_MS)
  const clientCache = new Map<string, { at: number; payload: AdapterPayload | undefined }>();
  class ClientAdapter implements Adapter {
    async find(id: string): Promise<AdapterPayload | undefined> {
      const hit = clientCache.get(id);
      if (hit && Date.now() - hit.at < CLIENT_CACHE_MS) return hit.payload;
      const c = await clients.find(id);
      const payload = c
        ? ({ ...c.metadata, gatehouse_first_party: c.firstParty, ...(c.secretSha256 ? { client_secret: `${HASHED_SECRET_PREFIX}${c.secretSha256}` } : {}) } as AdapterPayload)
        : undefined;
      if (clientCache.size > 10_000) clientCache.clear();
      // misses are not cached: a client registered a moment ago must work at once
      if (payload) clientCache.set(id, { at: Date.now(), payload });
      return payload;
    }
    async upsert(): Promise<void> {
      throw new Error('clients are managed with the gatehouse CLI, not through oidc-provider');
    }
    async findByUid(): Promise<undefined> {
      return undefined;
    }
    async findByUserCode(): Promise<undefined> {
      return undefined;
    }
    async consume(): Promise<void> {}
    async destroy(): Promise<void> {}
    async revokeByGrantId(): Promise<void> {}
  }

  class PayloadAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      // a row of this model read ahead in this request may be the one being replaced (request-scope.ts)
      forgetRows(this.model);
      const row = payloadRow(this.model, id, payload, expiresIn, box);
      // a write made to go with this row (a login result's audit row): one statement for both
      const along = takeWriteAlong();
      if (along) return writePayload(db, row, along);
      // held with what it is found by, and a copy of what is stored, for this request's own reads until it is written
      if (WRITTEN_AT_END.has(this.model) && holdWrite({ model: this.model, id: storedId(this.model, id), uid: payload.uid ?? null, userCode: payload.userCode ? storedId(this.model, payload.userCode) : null, grantId: payload.grantId ?? null, row, payload: structuredClone(payload) })) return;
      // after a postponed consume, the tokens it issues commit with it at the end of the request (request-scope.ts);
      // anything else not held (a DPoP proof's replay record, a client-credentials token) is written at once
      if (!(ISSUED_WITH_REDEMPTION.has(this.model) && deferWrite(row))) await writePayload(db, row);
    }

    /** live rows only: not expired, and not from before the user's last credential change */
    private async findWhere(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      const held = this.held(column, value);
      if (held) return held.payload;
      // a row a refresh token's or a code's read brought along (readTokenAhead), not changed since in this request; a copy,
      // so that a model changed in memory and not saved leaves the remembered row as it was read
      const ahead = recallRow(this.model, column, value) as StoredRow | undefined;
      const row = (ahead && { ...ahead, payload: structuredClone(ahead.payload) }) ?? (await findLive(db, column, this.model, value)).rows[0];
      return row && this.shaped(row);
    }

    /**
     * Inside a provider request a refresh token's or a code's read also brings its Grant and Session (one statement
     * instead of three), kept for the lookups that follow; outside one there is nowhere to keep them: a plain read.
     */
    private async findAhead(model: ReadAheadModel, stored: string): Promise<{ payload?: AdapterPayload; policyInputs?: PolicyInputRow[] }> {
      if (!inRequest()) return { payload: await this.findWhere('id', stored) };
      const { token, ahead, policy: policyInputs, account } = await readTokenAhead(db, model, stored, policy !== undefined);
      for (const a of ahead) rememberRow(a.model, a.column, a.value, a.row);
      // for findAccount (provider.ts), which the grant calls next with the token's accountId
      if (account) rememberRow('Account', 'id', account.id, account);
      return { payload: token && this.shaped(token), policyInputs };
    }

    /**
     * Inside a provider request (a sign-in's return) the interaction's read also brings the user its login result
     * names and the 2FA check's inputs for that user and the app, which the provider asks for next (findAccount,
     * login-policy.ts): one statement instead of two
     */
    private async findInteraction(stored: string): Promise<AdapterPayload | undefined> {
      const { row, login } = await readInteractionAhead(db, stored);
      if (login?.account) {
        rememberRow('Account', 'id', login.accountId, login.account);
        rememberRow(POLICY_INPUTS, 'for', policyInputsKey(login.accountId, login.clientId), login.policy);
      }
      return row && this.shaped(row);
    }

    /** a row this request wrote and holds (request-scope.ts): what it stores (a copy), or no row after a destroy */
    private held(column: 'id' | 'uid' | 'user_code', value: string): { payload: AdapterPayload | undefined } | undefined {
      const w = WRITTEN_AT_END.has(this.model) ? heldWrite(this.model, column, value) : undefined;
      return w && { payload: w.payload === undefined ? undefined : (structuredClone(w.payload) as AdapterPayload) };
    }

    /** a live row as the provider sees it: secrets opened, consumption as a timestamp */
    private shaped(row: StoredRow): AdapterPayload {
      rememberEpoch(row.account_id, row.credential_epoch);
      return {
        ...openSecrets(this.model, row.payload as AdapterPayload, box),
        ...(row.consumed_at ? { consumed: Math.floor(new Date(row.consumed_at).getTime() / 1000) } : {}),
      } as AdapterPayload;
    }

    /**
     * A token issued before a tenant turned on its 2FA requirement, from a sign-in without a second factor, is no
     * longer found: refresh fails with invalid_grant, the access token stops working.
     */
    async find(id: string) {
      if (this.model === 'AccessToken' && personalTokens && id.startsWith(PERSONAL_TOKEN_PREFIX)) return personalTokenPayload(id, personalTokens);
      const stored = storedId(this.model, id);
      // a row this request wrote (a code it just issued, say) is answered as written: its checks were made when it was
      const held = this.held('id', stored);
      if (held) return held.payload;
      if (this.model === 'Interaction' && inProviderRequest()) return this.findInteraction(stored);
      const { payload, policyInputs } = readsAhead(this.model) ? await this.findAhead(this.model, stored) : { payload: await this.findWhere('id', stored) };
      if (!payload || !policy || !GUARDED.has(this.model)) return payload;
      const p = payload as { accountId?: string; clientId?: string; amr?: string[]; extra?: { amr?: string[] } };
      // a refresh token's or a code's read brought the policy's inputs for its user and client (payload-reads.ts)
      return (await policy.tokenAcceptable(p.accountId, p.clientId, p.amr ?? p.extra?.amr, policyInputs)) ? payload : undefined;
    }
    findByUid(uid: string) {
      return this.findWhere('uid', uid);
    }
    findByUserCode(userCode: string) {
      return this.findWhere('user_code', storedId(this.model, userCode));
    }

    /**
     * One conditional UPDATE decides the winner. oidc-provider checks `consumed` and then calls consume():
     * two concurrent redemptions both pass its check, so the loser is stopped here, and as with any replay
     * everything issued from the grant is revoked.
     */
    async consume(id: string): Promise<void> {
      forgetRows(this.model);
      // a rotated refresh token or an exchanged code is consumed in the same statement as what it issues (request-scope.ts)
      if (DEFERRED_CONSUME.has(this.model) && deferConsume(this.model, storedId(this.model, id))) return;
      const won = await db
        .updateTable('oidc_payloads')
        .set({ consumed_at: sql`now()` })
        .where('model', '=', this.model)
        .where('id', '=', storedId(this.model, id))
        .where('consumed_at', 'is', null)
        .returning('grant_id')
        .executeTakeFirst();
      if (!won) {
        const row = await db.selectFrom('oidc_payloads').select('grant_id').where('model', '=', this.model).where('id', '=', storedId(this.model, id)).executeTakeFirst();
        if (row?.grant_id) {
          forgetRows();
          dropHeldOfGrant(row.grant_id);
          await revokeGrant(db, row.grant_id);
        }
        throw new errors.InvalidGrant(`${this.model} already consumed`);
      }
    }

    async destroy(id: string): Promise<void> {
      forgetRows(this.model);
      // a personal access token revoked at the standard revocation endpoint (RFC 7009) by whoever holds it
      if (this.model === 'AccessToken' && personalTokens && id.startsWith(PERSONAL_TOKEN_PREFIX)) return void (await personalTokens.revokeByValue(id));
      if (WRITTEN_AT_END.has(this.model) && holdWrite({ model: this.model, id: storedId(this.model, id), uid: null, userCode: null, grantId: null })) return;
      await db.deleteFrom('oidc_payloads').where('model', '=', this.model).where('id', '=', storedId(this.model, id)).execute();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      forgetRows();
      dropHeldOfGrant(grantId);
      await revokeGrant(db, grantId);
    }
  }

  return (model: string): Adapter => (model === 'Client' ? new ClientAdapter() : new PayloadAdapter(model));
}

/** a replayed refresh token: everything issued from its grant goes, and the grant itself */
export async function revokeGrantOf(db: Kysely<Database>, model: string, id: string): Promise<void> {
  const row = await db.selectFrom('oidc_payloads').select('grant_id').where('model', '=', model).where('id', '=', id).executeTakeFirst();
  if (row?.grant_id) await revokeGrant(db, row.grant_id);
}
