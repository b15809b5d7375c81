// How a provider model becomes an oidc_payloads row: its id (a digest for bearer secrets), its payload with the
// secrets it repeats sealed, whom it speaks for and under which credential epoch, and the one upsert that writes it.
import { sql, type InsertObject, type Kysely, type OnConflictBuilder, type QueryCreator, type RawBuilder } from 'kysely';
import type { AdapterPayload } from 'oidc-provider';
import { compiledOnce } from '../db/compiled.ts';
import type { Database } from '../db/database.ts';
import { isUuid } from '../domain/ids.ts';
import type { SecretBox } from '../domain/crypto/secret-box.ts';
import { AUDIT_VALUES, auditInsert, type AuditRow } from '../domain/audit/audit.service.ts';
import { sha256Hex } from '../domain/crypto/tokens.ts';
import { inheritedEpoch } from './request-scope.ts';

/** models whose id (or user code) is a bearer secret: a token value, a session cookie */
export const HASHED = new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'ClientCredentials', 'Session', 'BackchannelAuthenticationRequest', 'RegistrationAccessToken', 'InitialAccessToken']);

/** the id a row is stored under: the digest for bearer secrets, the value itself for the rest (grants, interactions) */
export function storedId(model: string, id: string): string {
  return HASHED.has(model) ? sha256Hex(id) : id;
}

/**
 * The payload of such a row repeats the secret (its `jti`, a device flow's `userCode`): those go into one sealed
 * field (AES-256-GCM, the secret box), opened when the row is read back, so the stored JSON holds no usable value.
 */
function sealSecrets(model: string, payload: AdapterPayload, box: SecretBox): AdapterPayload {
  // an interaction started from a signed-in browser carries that browser's session id (`session.cookie`)
  if (model === 'Interaction') {
    const session = (payload as { session?: { cookie?: string } }).session;
    if (!session?.cookie) return payload;
    return { ...payload, session: { ...session, cookie: undefined }, sealed: box.seal(JSON.stringify({ cookie: session.cookie }), model) } as AdapterPayload;
  }
  if (!HASHED.has(model)) return payload;
  const { jti, userCode, ...rest } = payload as AdapterPayload & { userCode?: string };
  return { ...rest, sealed: box.seal(JSON.stringify({ jti, userCode }), model) } as AdapterPayload;
}

export function openSecrets(model: string, payload: AdapterPayload, box: SecretBox): AdapterPayload {
  const { sealed, ...rest } = payload as AdapterPayload & { sealed?: string };
  if (typeof sealed !== 'string') return payload;
  const secrets = JSON.parse(box.open(sealed, model).toString('utf8')) as { jti?: string; userCode?: string; cookie?: string };
  if (model === 'Interaction') return { ...rest, session: { ...(rest as { session?: object }).session, cookie: secrets.cookie } } as AdapterPayload;
  return { ...rest, ...(secrets.jti ? { jti: secrets.jti } : {}), ...(secrets.userCode ? { userCode: secrets.userCode } : {}) } as AdapterPayload;
}


/** whom a row speaks for, and the epoch to stamp on it if it is new (or changes hands) */
function stampFor(model: string, payload: AdapterPayload): { accountId: string | null; epoch: number | null; explicit: boolean } {
  const p = payload as { accountId?: string; result?: { login?: { accountId?: string; epoch?: number } }; session?: { accountId?: string } };
  let accountId = p.accountId;
  let explicit: number | undefined;
  if (model === 'Interaction') {
    const login = p.result?.login;
    // a finished login step names the epoch its password was checked under (acr-amr.ts loginResult)
    if (login?.accountId) [accountId, explicit] = [login.accountId, typeof login.epoch === 'number' ? login.epoch : undefined];
    else accountId = p.session?.accountId;
  }
  if (!accountId || !isUuid(accountId)) return { accountId: null, epoch: null, explicit: false };
  // null: the user's current epoch, read by the statement that writes the row (rowExpressions)
  const epoch = explicit ?? inheritedEpoch(accountId) ?? null;
  return { accountId, epoch, explicit: explicit !== undefined };
}

/** the columns upsert() writes, in the order a row binds them */
export const PAYLOAD_COLUMNS = ['model', 'id', 'payload', 'grant_id', 'uid', 'user_code', 'expires_at', 'account_id', 'credential_epoch'] as const;

/** one oidc_payloads row as upsert() writes it, and whether its epoch was named by a login result */
export interface PayloadRow {
  /**
   * per column of PAYLOAD_COLUMNS, the value bound for it: expires_at as seconds from the database's now() (0:
   * never), credential_epoch null when the user's current one is to be read (rowExpressions)
   */
  binds: unknown[];
  explicitEpoch: boolean;
}

export function payloadRow(model: string, id: string, payload: AdapterPayload, expiresIn: number, box: SecretBox): PayloadRow {
  const stamp = stampFor(model, payload);
  const values: Record<(typeof PAYLOAD_COLUMNS)[number], unknown> = {
    model,
    id: storedId(model, id),
    payload: JSON.stringify(sealSecrets(model, payload, box)),
    grant_id: payload.grantId ?? null,
    uid: payload.uid ?? null,
    user_code: payload.userCode ? storedId(model, payload.userCode) : null,
    expires_at: expiresIn || 0,
    account_id: stamp.accountId,
    credential_epoch: stamp.epoch,
  };
  return { binds: PAYLOAD_COLUMNS.map((c) => values[c]), explicitEpoch: stamp.explicit };
}

/**
 * A row's column values as SQL over its binds (placeholders while compiledOnce builds): expires_at from the
 * database's clock, as find() reads it (one time source for expiry); an epoch not known in this request is the
 * user's current one, read in the same statement.
 */
export function rowExpressions(binds: unknown[]): RawBuilder<unknown>[] {
  const at = (c: (typeof PAYLOAD_COLUMNS)[number]) => binds[PAYLOAD_COLUMNS.indexOf(c)];
  return PAYLOAD_COLUMNS.map((c) => {
    if (c === 'expires_at') return sql`CASE WHEN CAST(${at(c)} AS double precision) > 0 THEN now() + make_interval(secs => CAST(${at(c)} AS double precision)) END`;
    if (c === 'credential_epoch') return sql`COALESCE(CAST(${at(c)} AS integer), (SELECT u.credential_epoch FROM users u WHERE u.id = CAST(${at('account_id')} AS uuid)))`;
    return sql`CAST(${at(c)} AS ${sql.raw(COLUMN_TYPES[c])})`;
  });
}

/** the types of the columns a row writes */
const COLUMN_TYPES: Record<(typeof PAYLOAD_COLUMNS)[number], string> = {
  model: 'text', id: 'text', payload: 'jsonb', grant_id: 'text', uid: 'text', user_code: 'text', expires_at: 'timestamptz', account_id: 'uuid', credential_epoch: 'integer',
};

/** the conflict rule of every payload write: a row keeps the epoch it was born in, see upsert() */
export function onPayloadConflict(explicitEpoch: boolean) {
  return (oc: OnConflictBuilder<Database, 'oidc_payloads'>) =>
    oc.columns(['model', 'id']).doUpdateSet((eb) => ({
      payload: eb.ref('excluded.payload'),
      grant_id: eb.ref('excluded.grant_id'),
      uid: eb.ref('excluded.uid'),
      user_code: eb.ref('excluded.user_code'),
      expires_at: eb.ref('excluded.expires_at'),
      account_id: eb.ref('excluded.account_id'),
      // a row takes a new epoch only from a login result or a change of user
      credential_epoch: sql<number>`CASE WHEN ${explicitEpoch} OR oidc_payloads.credential_epoch IS NULL
        OR oidc_payloads.account_id IS DISTINCT FROM excluded.account_id
        THEN excluded.credential_epoch ELSE oidc_payloads.credential_epoch END`,
    }));
}

/**
 * one row's upsert as part of another statement (a data-modifying CTE), from its binds (placeholders while compiledOnce
 * builds); `when`: a condition of that statement the row is written under (the redemption's consume having won)
 */
export function upsertRowWithin(qb: QueryCreator<Database>, binds: unknown[], explicitEpoch: boolean, when?: RawBuilder<boolean>) {
  return qb
    .insertInto('oidc_payloads')
    .columns([...PAYLOAD_COLUMNS])
    .expression(sql`SELECT ${sql.join(rowExpressions(binds))}${when ? sql` WHERE ${when}` : sql``}`)
    .onConflict(onPayloadConflict(explicitEpoch));
}

/** one row's upsert, compiled once per epoch rule (db/compiled.ts) */
const upsertRow = compiledOnce((db: Kysely<Database>, shape: 'explicit' | 'kept', ...binds: unknown[]) =>
  db.insertInto('oidc_payloads').values(rowValues(binds)).onConflict(onPayloadConflict(shape === 'explicit')),
);

/** the same with an audit row in a CTE before it: its values first, then the row's */
const upsertRowWithAudit = compiledOnce((db: Kysely<Database>, shape: 'explicit' | 'kept', ...binds: unknown[]) =>
  db
    .with('along', (qb) => auditInsert(qb, binds.slice(0, AUDIT_VALUES)))
    .insertInto('oidc_payloads')
    .values(rowValues(binds.slice(AUDIT_VALUES)))
    .onConflict(onPayloadConflict(shape === 'explicit')),
);

function rowValues(binds: unknown[]): InsertObject<Database, 'oidc_payloads'> {
  const exprs = rowExpressions(binds);
  return Object.fromEntries(PAYLOAD_COLUMNS.map((c, k) => [c, exprs[k]])) as unknown as InsertObject<Database, 'oidc_payloads'>;
}

/** `along`: another table's insert, sent in the same statement (a login result's audit row) */
export async function writePayload(q: Kysely<Database>, row: PayloadRow, along?: AuditRow): Promise<void> {
  const shape = row.explicitEpoch ? 'explicit' : 'kept';
  await (along ? upsertRowWithAudit(q, shape, ...along.values, ...row.binds) : upsertRow(q, shape, ...row.binds));
}
