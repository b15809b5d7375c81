// Reads of oidc_payloads. One rule says which rows are alive, and every read applies it in SQL: a row read alone
// (adapter.ts findWhere) and the rows a refresh token's or a code's read brings along with it (readTokenAhead).
import { sql, type Expression, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/database.ts';
import { epochIsCurrent } from '../domain/accounts/credential-epoch.ts';
import { toUserWithFactors, userWithFactorsQuery, type UserWithFactors } from '../domain/users/user.service.ts';
import { policyInputsAsJson, policyInputsFromJson, type PolicyInputRow } from '../domain/mfa/mfa-policy.ts';
import { compiledOnce } from '../db/compiled.ts';
import { isUuid } from '../domain/ids.ts';

/** what a read keeps of a row: enough to answer the provider and to remember the epoch it was read under */
export interface StoredRow {
  payload: unknown;
  consumed_at: Date | null;
  account_id: string | null;
  credential_epoch: number | null;
}

/** the row under `alias` is alive: not expired by the database's clock, and of its user's current credential epoch */
export function isLive(alias: string): RawBuilder<boolean> {
  const col = (c: string) => sql.ref(`${alias}.${c}`);
  return sql<boolean>`(${col('expires_at')} IS NULL OR ${col('expires_at')} > now())
    AND (${col('account_id')} IS NULL OR ${epochIsCurrent(`${alias}.account_id`, `${alias}.credential_epoch`)})`;
}

/** a user read as JSON beside something else (userWithFactorsQuery's row): null when absent or disabled */
const accountFromJson = (json: unknown): UserWithFactors | null => (json ? toUserWithFactors(json as Parameters<typeof toUserWithFactors>[0]) : null);

/** a row that came along with a refresh token or a code, and the lookup (column, value) it answers */
export interface AheadRow {
  model: 'Grant' | 'Session';
  column: 'id' | 'uid';
  value: string;
  row: StoredRow;
}

/** the tokens whose grant reads the token, then its Grant, then (if it ends with its session) its Session */
export type ReadAheadModel = 'RefreshToken' | 'AuthorizationCode';
export const readsAhead = (model: string): model is ReadAheadModel => model === 'RefreshToken' || model === 'AuthorizationCode';

/** the statement of readTokenAhead, built once per shape (with or without the policy's inputs): db/compiled.ts */
const readAhead = compiledOnce((db: Kysely<Database>, shape: 'policy' | 'plain', model: ReadAheadModel, storedTokenId: string) => {
  const inputs = shape === 'policy' ? policyInputsAsJson(db, sql.ref('r.account_id'), sql<string>`r.payload->>'clientId'`) : sql<unknown>`NULL::json`;
  return db
    .with('t', (qb) =>
      qb
        .selectFrom('oidc_payloads as r')
        .select(['r.payload', 'r.consumed_at', 'r.account_id', 'r.credential_epoch', 'r.grant_id', sql<string | null>`r.payload->>'sessionUid'`.as('session_uid'), inputs.as('policy_inputs'),
          sql<unknown>`(SELECT row_to_json(u) FROM (${userWithFactorsQuery(db, sql.ref('r.account_id'))}) u)`.as('account'),
        ])
        .where('r.model', '=', model)
        .where('r.id', '=', storedTokenId)
        .where(isLive('r')),
    )
    .selectFrom('t')
    .select([sql<string>`'Token'`.as('model'), sql<string>`''`.as('key'), 't.payload', 't.consumed_at', 't.account_id', 't.credential_epoch', 't.policy_inputs', 't.account'])
    // the grant and the session each by its key, as a lookup per token row: a subquery with a LIMIT is planned on its
    // own, with the token's value as a parameter, so a plan made while the table was small cannot turn it into a walk
    // of every live row once the table has grown (plans-without-statistics.test.ts)
    .unionAll((eb) =>
      eb
        .selectFrom('t')
        .innerJoinLateral(
          (l) => l.selectFrom('oidc_payloads').selectAll().where('model', '=', 'Grant').whereRef('id', '=', 't.grant_id').limit(sql.lit(1)).as('g'),
          (join) => join.onTrue(),
        )
        .select([sql<string>`'Grant'`.as('model'), 'g.id as key', 'g.payload', 'g.consumed_at', 'g.account_id', 'g.credential_epoch', sql<unknown>`NULL::json`.as('policy_inputs'), sql<unknown>`NULL::json`.as('account')])
        .where(isLive('g')),
    )
    .unionAll((eb) =>
      eb
        .selectFrom('t')
        .innerJoinLateral(
          (l) => l.selectFrom('oidc_payloads').selectAll().where('model', '=', 'Session').where('uid', 'is not', null).whereRef('uid', '=', 't.session_uid').limit(sql.lit(1)).as('s'),
          (join) => join.onTrue(),
        )
        .select([sql<string>`'Session'`.as('model'), sql<string>`s.uid`.as('key'), 's.payload', 's.consumed_at', 's.account_id', 's.credential_epoch', sql<unknown>`NULL::json`.as('policy_inputs'), sql<unknown>`NULL::json`.as('account')])
        .where(isLive('s')),
    );
});

/**
 * The refresh token grant and the code redemption read the token, then its Grant, then (for a token that ends with
 * its session) its Session: three round trips for rows that one statement can find, since the token names both
 * (grant_id, and the payload's sessionUid, which is not sealed). Each arm applies the same liveness rule as a read of
 * its own, so a revoked grant, an ended session or a credential change still leaves the provider finding nothing.
 * With `withPolicy`, the token's row also carries what the 2FA policy reads to judge it (mfa-policy.ts policyInputs,
 * for the token's user and client): the policy still decides, from these rows instead of its own statement.
 * And it carries the token's user as findAccount reads it (user.service.ts userWithFactorsQuery), for the claims.
 */
export async function readTokenAhead(
  db: Kysely<Database>,
  model: ReadAheadModel,
  storedTokenId: string,
  withPolicy: boolean,
): Promise<{ token?: StoredRow; ahead: AheadRow[]; policy?: PolicyInputRow[]; account?: UserWithFactors }> {
  const { rows } = await readAhead(db, withPolicy ? 'policy' : 'plain', model, storedTokenId);
  const stored = (r: (typeof rows)[number]): StoredRow => ({ payload: r.payload, consumed_at: r.consumed_at, account_id: r.account_id, credential_epoch: r.credential_epoch });
  const token = rows.find((r) => r.model === 'Token');
  if (!token) return { ahead: [] };
  const ahead = rows.flatMap((r): AheadRow[] =>
    r.model === 'Grant' ? [{ model: 'Grant', column: 'id', value: r.key, row: stored(r) }] : r.model === 'Session' ? [{ model: 'Session', column: 'uid', value: r.key, row: stored(r) }] : [],
  );
  const account = accountFromJson(token.account);
  return { token: stored(token), ahead, ...(withPolicy ? { policy: policyInputsFromJson(token.policy_inputs) } : {}), ...(account ? { account } : {}) };
}

/** the user as findAccount reads it (`account`, JSON) and the 2FA check's inputs for it and the app (`policy_inputs`) */
const accountAndPolicy = (db: Kysely<Database>, userId: Expression<string | null>, clientId: Expression<string | null>) =>
  [sql<unknown>`(SELECT row_to_json(u) FROM (${userWithFactorsQuery(db, userId)}) u)`.as('account'), policyInputsAsJson(db, userId, clientId).as('policy_inputs')] as const;

/** the statement of readAccountAhead */
const accountAhead = compiledOnce((db: Kysely<Database>, _shape: 'one', userId: string, clientId: string) =>
  db.selectNoFrom([...accountAndPolicy(db, sql`CAST(${userId} AS uuid)`, sql`CAST(${clientId} AS text)`)]),
);

/**
 * At the authorization endpoint the provider reads the signed-in user (findAccount) and then asks the 2FA check
 * (login-policy.ts) about that user and the app: one statement reads both, as a refresh token's read does, and the
 * policy still decides, from these rows instead of its own statement. Null for an id that is not a user's.
 */
export async function readAccountAhead(db: Kysely<Database>, userId: string, clientId: string): Promise<{ account: UserWithFactors | null; policy: PolicyInputRow[] }> {
  if (!isUuid(userId)) return { account: null, policy: [] };
  const { rows } = await accountAhead(db, 'one', userId, clientId);
  const row = rows[0];
  const account = accountFromJson(row?.account);
  return { account, policy: policyInputsFromJson(row?.policy_inputs) };
}

/** a login result's user id as a uuid, or NULL when it is not one (a cast of anything else would fail the statement) */
const loginAccountId = sql<string | null>`(CASE WHEN r.payload->'result'->'login'->>'accountId' ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN CAST(r.payload->'result'->'login'->>'accountId' AS uuid) END)`;

/** the statement of readInteractionAhead: the interaction, and its login result's user and policy inputs for its app */
const interactionAhead = compiledOnce((db: Kysely<Database>, _shape: 'one', storedId: string) =>
  db
    .selectFrom('oidc_payloads as r')
    .select(['r.payload', 'r.consumed_at', 'r.account_id', 'r.credential_epoch', ...accountAndPolicy(db, loginAccountId, sql<string>`r.payload->'params'->>'client_id'`)])
    .where('r.model', '=', 'Interaction')
    .where('r.id', '=', storedId)
    .where(isLive('r')),
);

/**
 * The sign-in's return reads its interaction, then the user its login result names (findAccount) and the 2FA check's
 * inputs for that user and the app: one statement reads all three, as readAccountAhead does at the authorization
 * endpoint. `login`: the user and app the rows are for, when the interaction carries a login result of a user.
 */
export async function readInteractionAhead(
  db: Kysely<Database>,
  storedId: string,
): Promise<{ row?: StoredRow; login?: { accountId: string; clientId: string; account: UserWithFactors | null; policy: PolicyInputRow[] } }> {
  const { rows } = await interactionAhead(db, 'one', storedId);
  const r = rows[0];
  if (!r) return {};
  const row: StoredRow = { payload: r.payload, consumed_at: r.consumed_at, account_id: r.account_id, credential_epoch: r.credential_epoch };
  const p = r.payload as { result?: { login?: { accountId?: unknown } }; params?: { client_id?: unknown } };
  const accountId = p.result?.login?.accountId;
  const clientId = p.params?.client_id;
  if (typeof accountId !== 'string' || !isUuid(accountId) || typeof clientId !== 'string') return { row };
  return { row, login: { accountId, clientId, account: accountFromJson(r.account), policy: policyInputsFromJson(r.policy_inputs) } };
}
