// The state of a sign-in between its password step and its end, keyed by the interaction uid (which oidc-provider
// binds to the browser with its interaction cookie). Only the step that follows the password can complete it, and
// only while the user's credential epoch is still the one its password was checked under.
import { sql, type Expression, type ExpressionBuilder, type Kysely, type QueryCreator } from 'kysely';
import type { Database, Db } from '../../db/database.ts';
import { compiledOnce } from '../../db/compiled.ts';
import { epochIsCurrent } from '../accounts/credential-epoch.ts';
import { linkProposedFlag } from '../federation/link.service.ts';
import { clockValues, sqlNow, sqlNowOf, type Clock, type ClockShape } from '../clock.ts';
import { FACTOR_KINDS, type FactorKind } from './mfa-policy.ts';
import { factorFlags, kindsOf } from './factor-kinds.ts';
import { admitFrom, policyValues, type AlongRow, type ThrottlePolicy } from './throttle.service.ts';
import type { ActiveAuthenticator, WithSpent } from './totp.service.ts';

export type AuthnState = 'second_factor' | 'enroll' | 'recovery_codes' | 'grace';

export interface AuthnTransaction {
  uid: string;
  userId: string;
  state: AuthnState;
  /** what the sign-in will be reported as when it completes */
  amr: string[];
  passwordAt: Date;
  /** the user's credential epoch when the password was checked */
  epoch: number;
  /** the second factors this sign-in may use or set up (the policy at its password step) */
  allowedFactors: FactorKind[];
  /** at 'enroll': the user proved a factor of their own that the policy does not count, and adds one it does */
  upgrade?: boolean;
}

type Row = { uid: string; user_id: string; state: AuthnState; amr: string[]; password_at: Date; epoch: number; allowed_factors: string[]; upgrade: boolean };
const toTransaction = (row: Row): AuthnTransaction => ({
  uid: row.uid,
  userId: row.user_id,
  state: row.state,
  amr: row.amr,
  passwordAt: row.password_at,
  epoch: row.epoch,
  allowedFactors: FACTOR_KINDS.filter((k) => row.allowed_factors.includes(k)),
  upgrade: row.upgrade,
});

// Why compiled once (db/compiled.ts): every step of a sign-in with a second factor runs these; building and compiling
// them took a tenth of a step page's time on the serving thread, for texts that change only with their shape (the
// clock's, and what a read brings or a take stamps).

/** the begin's insert (or, for a sign-in that starts over, its replacement), from its values (beginValues) */
function beginInsert(qb: QueryCreator<Database>, shape: ClockShape, v: readonly unknown[]) {
  const [uid, userId, state, amr, passwordAt, epoch, allowed, ttlSeconds, at] = v;
  return qb
    .insertInto('authn_transactions')
    .values({
      uid: uid as string,
      user_id: userId as string,
      state: state as AuthnState,
      amr: sql<string[]>`CAST(${amr} AS text[])`,
      password_at: passwordAt as Date,
      epoch: epoch as number,
      allowed_factors: sql<string[]>`CAST(${allowed} AS text[])`,
      expires_at: sql`${sqlNowOf(shape, at)} + make_interval(secs => ${ttlSeconds})`,
    })
    .onConflict((oc) =>
      oc.column('uid').doUpdateSet((eb) => ({
        user_id: eb.ref('excluded.user_id'),
        state: eb.ref('excluded.state'),
        amr: eb.ref('excluded.amr'),
        password_at: eb.ref('excluded.password_at'),
        epoch: eb.ref('excluded.epoch'),
        allowed_factors: eb.ref('excluded.allowed_factors'),
        upgrade: eb.ref('excluded.upgrade'),
        expires_at: eb.ref('excluded.expires_at'),
      })),
    );
}

type Begin = Omit<AuthnTransaction, 'allowedFactors'> & { allowedFactors?: FactorKind[] };

/** a begin's values, in beginInsert's order; the clock's time last when it is fixed. `allowedFactors` defaults to every kind (no organization restriction applies) */
const beginValues = (clock: Clock, t: Begin, ttlSeconds: number) => [t.uid, t.userId, t.state, t.amr, t.passwordAt, t.epoch, t.allowedFactors ?? [...FACTOR_KINDS], ttlSeconds, ...clockValues(clock).at];

const begin = compiledOnce((db: Kysely<Database>, shape: ClockShape, ...v: unknown[]) => beginInsert(db, shape, v));

export async function beginAuthnTransaction(db: Db, clock: Clock, t: Begin, ttlSeconds: number): Promise<void> {
  await begin(db, clockValues(clock).shape, ...beginValues(clock, t, ttlSeconds));
}

/** the begin's insert per clock shape, each made once (an AlongRow's insert is known by its name) */
const beginInserts: Record<ClockShape, AlongRow['insert']> = { system: (qb, v) => beginInsert(qb, 'system', v), fixed: (qb, v) => beginInsert(qb, 'fixed', v) };

/** beginAuthnTransaction() as a row written along with another statement (throttle.service.ts AlongRow) */
export function beginAlong(clock: Clock, t: Begin, ttlSeconds: number): AlongRow {
  const { shape } = clockValues(clock);
  return { name: `authn-begin-${shape}`, values: beginValues(clock, t, ttlSeconds), insert: beginInserts[shape] };
}

/** the transaction `uid` names, while it is live: not expired by `now`, and no credential of its user changed since */
const isLive = (uid: Expression<string> | string, now: Expression<Date>) => (eb: ExpressionBuilder<Database, 'authn_transactions'>) =>
  eb.and([eb('uid', '=', uid), eb('expires_at', '>', now), epochIsCurrent('user_id', 'epoch')]);

/**
 * what a read of the live transaction brings besides its row: nothing, the user's row, and their authenticators (and
 * the admission of an attempt at the code: admitFrom() on the user's counter), or their kinds of factor
 */
type With = 'row' | 'user' | 'user+authenticators' | 'user+authenticators+admit' | 'kinds';

// values: the uid, the clock's time when it is fixed, then (+admit) the counter's key prefix and its policy's values
const liveRead = compiledOnce((db: Kysely<Database>, shape: `${ClockShape}:${With}`, uid: string, ...rest: unknown[]) => {
  const [clockShape, withWhat] = shape.split(':') as [ClockShape, With];
  const now = sqlNowOf(clockShape, clockShape === 'fixed' ? rest.shift() : undefined);
  const q = db.selectFrom('authn_transactions').selectAll('authn_transactions').where(isLive(uid, now));
  if (withWhat === 'kinds') return q.select([...factorFlags(sql.ref('authn_transactions.user_id'))]);
  if (withWhat === 'row') return q;
  const withUser = q
    .select([sql<unknown>`(SELECT row_to_json(u) FROM users u WHERE u.id = authn_transactions.user_id)`.as('user_row'), linkProposedFlag(sql.ref('authn_transactions.uid')).as('link_proposed')])
    .$if(withWhat !== 'user', (qq) =>
      qq.select(sql<ActiveAuthenticator[]>`(SELECT coalesce(json_agg(json_build_object('id', t.id, 'secret_sealed', t.secret_sealed)), '[]'::json) FROM totp_credentials t WHERE t.user_id = authn_transactions.user_id AND t.confirmed_at IS NOT NULL)`.as('authenticators')),
    );
  if (withWhat !== 'user+authenticators+admit') return withUser;
  // the attempt is counted on the user's counter only for a transaction at its code step
  const [prefix, ...policy] = rest;
  return db
    .with('tx', () => withUser)
    .with('admitted', (qb) => admitFrom(qb as unknown as QueryCreator<Database>, now, 'tx', sql<string>`${prefix} || tx.user_id`, sql<boolean>`tx.state = 'second_factor'`, policy))
    .selectFrom('tx')
    .selectAll()
    .select(sql<boolean>`EXISTS (SELECT 1 FROM admitted)`.as('admitted'));
});

async function live<R>(db: Db, clock: Clock, uid: string, withWhat: With, ...admit: unknown[]): Promise<(Row & R) | undefined> {
  const { shape, at } = clockValues(clock);
  return (await liveRead(db, `${shape}:${withWhat}`, uid, ...at, ...admit)).rows[0] as (Row & R) | undefined;
}

/** the step of that live transaction (findAuthnTransaction's `state`), or null: one value for a statement that reads more */
export const liveStepOf = (db: Db, uid: Expression<string>, now: Expression<Date>) =>
  sql<AuthnState | null>`(${db.selectFrom('authn_transactions').select('state').where(isLive(uid, now))})`;

export async function findAuthnTransaction(db: Db, clock: Clock, uid: string): Promise<AuthnTransaction | null> {
  const row = await live(db, clock, uid, 'row');
  return row ? toTransaction(row) : null;
}

/**
 * the transaction and its user's row (as JSON: `userRow`), in one statement: every step after the password asks for
 * both; with them, whether an upstream proposed a link to this sign-in (link.service.ts linkProposedFlag), which a step
 * that completes the sign-in hands on (FlowResult `linkProposed`). `authenticators`: also the user's active
 * authenticator apps, secrets sealed (what a code is checked against: the code step needs them next)
 */
export async function findAuthnTransactionWithUser(
  db: Db,
  clock: Clock,
  uid: string,
  opts: { authenticators?: boolean; admit?: { keyPrefix: string; policy: ThrottlePolicy } } = {},
): Promise<{ tx: AuthnTransaction; userRow: unknown; linkProposed: boolean; authenticators?: ActiveAuthenticator[]; admitted?: boolean } | null> {
  const { admit } = opts;
  const withWhat: With = admit ? 'user+authenticators+admit' : opts.authenticators === true ? 'user+authenticators' : 'user';
  const row = await live<{ user_row: unknown; link_proposed: boolean; authenticators?: ActiveAuthenticator[]; admitted?: boolean }>(db, clock, uid, withWhat, ...(admit ? [admit.keyPrefix, ...policyValues(admit.policy)] : []));
  if (!row) return null;
  const { authenticators, admitted } = row;
  return { tx: toTransaction(row), userRow: row.user_row, linkProposed: row.link_proposed, ...(authenticators ? { authenticators } : {}), ...(admit ? { admitted } : {}) };
}

/** the transaction and its user's active kinds of second factor, in one statement (a step's page shows both) */
export async function findAuthnTransactionWithKinds(db: Db, clock: Clock, uid: string): Promise<{ tx: AuthnTransaction; kinds: FactorKind[] } | null> {
  const row = await live<{ webauthn: unknown; totp: unknown }>(db, clock, uid, 'kinds');
  return row ? { tx: toTransaction(row), kinds: kindsOf(row) } : null;
}

type From = { uid: string; userId: string; state: AuthnState; epoch: number };

/** the row is still the one the caller checked: same user, step and epoch, not expired by `now`, and no credential changed since */
const asChecked = (from: From, now: Expression<Date>) => (eb: ExpressionBuilder<Database, 'authn_transactions'>) =>
  eb.and([
    eb('uid', '=', from.uid),
    eb('user_id', '=', from.userId),
    eb('state', '=', from.state),
    eb('epoch', '=', from.epoch),
    eb('expires_at', '>', now),
    epochIsCurrent('user_id', 'epoch'),
  ]);

/**
 * Moves the transaction on only if it still belongs to the same user, is still in the step the caller checked, and
 * no credential changed since its password step: anything in between (a race, a reset) makes the move fail.
 */
export async function moveAuthnTransaction(db: Db, clock: Clock, from: From, state: AuthnState, amr: string[], opts: { upgrade?: boolean } = {}): Promise<boolean> {
  const res = await db
    .updateTable('authn_transactions')
    .set({ state, amr, upgrade: opts.upgrade ?? false })
    .where(asChecked(from, sqlNow(clock)))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** what a take also does: nothing, or stamp the user's memberships with the step's amr, or with the transaction's */
type Stamp = 'none' | 'stamp-amr' | 'stamp-tx-amr';

/** the checked take: the row comes back only if it is still the one the caller checked (asChecked) */
const takenAs = (qb: QueryCreator<Database>, from: From, now: Expression<Date>) => qb.deleteFrom('authn_transactions').where(asChecked(from, now)).returningAll();

/**
 * the completed sign-in's stamp on the user's memberships (the admins' member list: when, and with which amr — the
 * step's, or the transaction's), from the CTE `taken`: only if the take won
 */
const stampedFromTaken = (qb: QueryCreator<Database>, at: unknown, amr: unknown | 'tx') =>
  qb
    .updateTable('tenant_members')
    .from(sql.table('taken').as('taken') as never)
    .set({ last_sign_in_at: sql<Date>`CAST(${at} AS timestamptz)`, last_sign_in_amr: amr === 'tx' ? sql<string[]>`taken.amr` : sql<string[]>`CAST(${amr} AS text[])` })
    .where(sql<boolean>`tenant_members.user_id = taken.user_id`)
    .where('tenant_members.accepted_at', 'is not', null);

// values: uid, user, step, epoch, then the clock's time (a fixed clock), the stamp's time and the step's amr, as the shape has them
const take = compiledOnce((db: Kysely<Database>, shape: `${ClockShape}:${Stamp}`, uid: string, userId: string, state: AuthnState, epoch: number, ...rest: unknown[]) => {
  const [clockShape, stamp] = shape.split(':') as [ClockShape, Stamp];
  const now = sqlNowOf(clockShape, clockShape === 'fixed' ? rest.shift() : undefined);
  const taken = (qb: QueryCreator<Database>) => takenAs(qb, { uid, userId, state, epoch }, now);
  if (stamp === 'none') return taken(db);
  const [at, amr] = rest;
  return db
    .with('taken', taken)
    .with('stamped', (qb) => stampedFromTaken(qb as unknown as QueryCreator<Database>, at, stamp === 'stamp-amr' ? amr : 'tx'))
    .selectFrom('taken')
    .selectAll();
});

/** single use, and only as the user, step and epoch the caller checked: exactly one caller gets the transaction back */
export async function takeAuthnTransaction(db: Db, clock: Clock, from: From, opts: { stampMemberships?: { amr?: string[] } } = {}): Promise<AuthnTransaction | null> {
  const { shape, at } = clockValues(clock);
  const stamp = opts.stampMemberships;
  const kind: Stamp = !stamp ? 'none' : stamp.amr ? 'stamp-amr' : 'stamp-tx-amr';
  const values = [...at, ...(stamp ? [clock.now()] : []), ...(stamp?.amr ? [stamp.amr] : [])];
  const row = (await take(db, `${shape}:${kind}`, from.uid, from.userId, from.state, from.epoch, ...values)).rows[0] as Row | undefined;
  return row ? toTransaction(row) : null;
}

/**
 * takeAuthnTransaction() with the memberships' stamp (the step's `amr`), as the writes that go with a spent code's step,
 * in its statement (totp.service.ts WithSpent): the sign-in completes only if the step was spent, and the step's
 * spending completes it in the same round trip. The taken row comes back as JSON (transactionFromJson).
 */
export function takeWhenSpent(from: From, clock: Clock, amr: string[]): WithSpent {
  return {
    writes: [
      ['taken', (qb, spent) => takenAs(qb, from, sqlNow(clock)).where(spent)],
      ['stamped', (qb) => stampedFromTaken(qb, clock.now(), amr)],
    ],
    returning: 'taken',
  };
}

/** a transaction's row as JSON (row_to_json of a take) */
export function transactionFromJson(json: unknown): AuthnTransaction {
  const row = json as Omit<Row, 'password_at'> & { password_at: string };
  return toTransaction({ ...row, password_at: new Date(row.password_at) });
}
