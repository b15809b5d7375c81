// What one provider request remembers while it runs (AsyncLocalStorage, set up by a koa middleware):
// - the credential epochs of the live rows it read, per user: a row it writes inherits the epoch of what it was
//   derived from, so a credential change that commits in between cannot give the new row a fresh epoch;
// - a refresh token being rotated, or an authorization code being exchanged: its consume and every row written after
//   it (the new refresh token, the access token) commit together, in one statement at the end of the request
//   (rotation.ts commitRedemption: the consume and the inserts as data-modifying CTEs, so one round trip and one
//   transaction). A fault anywhere before that commit (a crash, the database going away) leaves the token valid for
//   the client's retry, instead of a consumed token and no new one, which the retry would then look like a replay
//   and revoke the grant.
// - rows read ahead (payload-reads.ts): a refresh token's or a code's read also brings its Grant and Session, which
//   the provider asks for next; they are answered from here until the request writes anything of their model;
// - the writes of the models a sign-in's return makes (adapter.ts WRITTEN_AT_END: the interaction destroyed, the
//   grant, the code and the session saved), held to the end of the request and sent as one statement (held-writes.ts)
//   before the answer leaves: one round trip and one commit instead of four, and a fault leaves nothing half done
//   (the interaction still there for the browser's retry, no code in a redirect without its row).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import type { AuditRow } from '../domain/audit/audit.service.ts';

/** a row waiting to be written (adapter.ts PayloadRow; kept opaque here) */
type Write = unknown;

/** a held write of one row (by model and stored id): the row to upsert with the payload it stores, or none (destroy) */
export interface HeldWrite {
  model: string;
  id: string;
  uid: string | null;
  /** the stored user code (a device flow's), for lookups by it */
  userCode: string | null;
  grantId: string | null;
  row?: Write;
  payload?: unknown;
}

interface Scope {
  epochs: Map<string, number>;
  /** only in a provider request (requestScope): the held writes, by "model id", the last write of a row winning */
  held?: Map<string, HeldWrite>;
  rotation?: { model: string; consumed: string; writes: Write[] };
  /** a write to send in the statement of the next payload row written (withWriteAlong) */
  along?: AuditRow;
  /** rows read ahead, by model, then by "column value" of the lookup that would have found them */
  ahead?: Map<string, Map<string, unknown>>;
}

const store = new AsyncLocalStorage<Scope>();

/** runs `fn` with rows it writes for `accountId` stamped with `epoch` (a sign-in made outside a provider request) */
export function withEpoch<T>(accountId: string, epoch: number, fn: () => Promise<T>): Promise<T> {
  return store.run({ epochs: new Map([[accountId, epoch]]) }, fn);
}

/**
 * runs `fn` (outside a provider request) with `along` sent in the statement of the first payload row it writes: a
 * sign-in's audit row with its login result, one statement for both
 */
export function withWriteAlong<T>(along: AuditRow, fn: () => Promise<T>): Promise<T> {
  const s = store.getStore();
  // inside a scope already: that scope carries it (what it remembers stays in sight)
  if (!s) return store.run({ epochs: new Map(), along }, fn);
  s.along = along;
  return fn();
}

/** the write to send with this row (once) */
export function takeWriteAlong(): AuditRow | undefined {
  const s = store.getStore();
  const along = s?.along;
  if (s) s.along = undefined;
  return along;
}

export function rememberEpoch(accountId: string | null, epoch: number | null): void {
  const m = store.getStore()?.epochs;
  if (m && accountId && epoch !== null && !m.has(accountId)) m.set(accountId, epoch);
}

export function inheritedEpoch(accountId: string): number | undefined {
  return store.getStore()?.epochs.get(accountId);
}

/** whether a provider request (or a sign-in run withEpoch or withWriteAlong) is running: only then is there a place to keep rows */
export function inRequest(): boolean {
  return store.getStore() !== undefined;
}

/** whether a provider request itself is running (requestScope): only it holds writes to its end */
export function inProviderRequest(): boolean {
  return store.getStore()?.held !== undefined;
}

/** keeps a row read ahead: the lookup `model` by `column` = `value` will be answered with it in this request */
export function rememberRow(model: string, column: string, value: string, row: unknown): void {
  const s = store.getStore();
  if (!s) return;
  s.ahead ??= new Map();
  let m = s.ahead.get(model);
  if (!m) s.ahead.set(model, (m = new Map()));
  m.set(`${column} ${value}`, row);
}

export function recallRow(model: string, column: string, value: string): unknown {
  return store.getStore()?.ahead?.get(model)?.get(`${column} ${value}`);
}

/** a write of `model` (every model when omitted) in this request: what was read ahead of it may be stale */
export function forgetRows(model?: string): void {
  const ahead = store.getStore()?.ahead;
  if (!ahead) return;
  if (model === undefined) ahead.clear();
  else ahead.delete(model);
}

/** a redeemed token's consume, postponed to the end of the request; false outside a provider request (consume now) */
export function deferConsume(model: string, storedId: string): boolean {
  const s = store.getStore();
  if (!s) return false;
  s.rotation = { model, consumed: storedId, writes: [] };
  return true;
}

/** after a postponed consume, a write waits to commit with it; false when there is nothing to wait for */
export function deferWrite(write: Write): boolean {
  const r = store.getStore()?.rotation;
  if (!r) return false;
  r.writes.push(write);
  return true;
}

/** holds a write to the end of the provider request; false outside one (write now) */
export function holdWrite(w: HeldWrite): boolean {
  const held = store.getStore()?.held;
  if (!held) return false;
  const key = `${w.model} ${w.id}`;
  const before = held.get(key);
  // re-added at the end: the writes go out in the order of each row's last write; a destroy keeps what the row it
  // ends was found by (its uid, user code and grant), so that a later lookup by them finds it gone
  held.delete(key);
  held.set(key, w.row || !before ? w : { ...w, uid: before.uid, userCode: before.userCode, grantId: before.grantId });
  return true;
}

/** the held write of the row `model` whose `column` is `value`, if this request holds one */
export function heldWrite(model: string, column: 'id' | 'uid' | 'user_code', value: string): HeldWrite | undefined {
  const held = store.getStore()?.held;
  if (!held) return undefined;
  if (column === 'id') return held.get(`${model} ${value}`);
  return [...held.values()].reverse().find((w) => w.model === model && (column === 'uid' ? w.uid : w.userCode) === value);
}

/** a grant revoked in this request: its held rows are not written after it */
export function dropHeldOfGrant(grantId: string): void {
  const held = store.getStore()?.held;
  if (!held) return;
  for (const [key, w] of held) if (w.grantId === grantId || (w.model === 'Grant' && w.id === grantId)) held.delete(key);
}

/**
 * Koa middleware (provider.use), innermost: the request's memory, and at its end the redemption's one statement,
 * then the held writes' one statement.
 * The consume is conditional (`consumed_at IS NULL`): of two concurrent redemptions of one token, the loser writes
 * nothing, its grant is revoked (`onReplay`) and it is answered invalid_grant — as for any replay.
 */
export function requestScope<W>(
  db: Kysely<Database>,
  commit: (db: Kysely<Database>, model: string, storedId: string, writes: W[]) => Promise<boolean>,
  onReplay: (db: Kysely<Database>, model: string, storedId: string) => Promise<void>,
  flush: (db: Kysely<Database>, writes: HeldWrite[]) => Promise<void>,
) {
  return async (ctx: { status: number; body: unknown }, next: () => Promise<unknown>) => {
    const scope: Scope = { epochs: new Map(), held: new Map() };
    // a request that threw wrote nothing it held (nor its redemption): a retry finds everything as it was
    await store.run(scope, next);
    if ((await redeem(ctx, scope)) === 'replayed') return;
    // a request the server failed (a fault the provider answered itself) writes nothing it held either; otherwise
    // the answer (rendered, not yet sent) leaves only once its rows are in, and a failure here fails the request
    if (scope.held?.size && ctx.status < 500) await flush(db, [...scope.held.values()]);
  };

  async function redeem(ctx: { status: number; body: unknown }, scope: Scope): Promise<'none' | 'won' | 'replayed'> {
    const r = scope.rotation;
    // a request that failed wrote nothing of its redemption: the token still works
    if (!r || ctx.status >= 400) return 'none';
    if (await commit(db, r.model, r.consumed, r.writes as W[])) return 'won';
    await onReplay(db, r.model, r.consumed);
    ctx.status = 400;
    ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
    return 'replayed';
  }
}
