// Which sign-in methods a context allows: `password` and each upstream provider by name. An organization's policy
// (`tenants.allowed_methods`) restricts its private apps (known before the sign-in page shows) and its members (known
// once the upstream said who signed in). No organization involved: every configured method is allowed.
import { sql, type Expression, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { compiledOnce, compiledStatement } from '../../db/compiled.ts';
import { clockValues, sqlNowOf, type Clock, type ClockShape } from '../clock.ts';
import { liveStepOf, type AuthnState } from '../mfa/authn-transaction.ts';

export interface MethodRestriction {
  organization: string;
  allowed: string[];
}

/** the app's organization and the methods it allows: no row when the app belongs to none */
const restrictionQuery = (db: Kysely<Database>, clientId: Expression<string | null>) =>
  db.selectFrom('oidc_clients as c').innerJoin('tenants as t', 't.id', 'c.tenant_id').select(['t.name', 't.allowed_methods']).where('c.client_id', '=', clientId);

/** the app's restriction as one JSON value (null when the app belongs to no organization), for a statement that reads more */
export const restrictionJson = (db: Kysely<Database>, clientId: Expression<string | null>) =>
  sql<{ name: string; allowed_methods: string[] } | null>`(SELECT row_to_json(r) FROM (${restrictionQuery(db, clientId)}) r)`;

/** that JSON value as the restriction it states */
export const restrictionFromJson = (json: { name: string; allowed_methods: string[] } | null): MethodRestriction | null =>
  json ? { organization: json.name, allowed: json.allowed_methods } : null;

/** compiled once (db/compiled.ts): every password sign-in asks */
const restrictionOf = compiledStatement((db: Kysely<Database>, clientId: string) => restrictionQuery(db, sql.val(clientId)));

/** the restriction of the app's organization, if the app belongs to one */
export async function clientRestriction(db: Kysely<Database>, clientId: string | undefined): Promise<MethodRestriction | null> {
  if (!clientId) return null;
  return restrictionFromJson((await restrictionOf(db, clientId)).rows[0] ?? null);
}

/** the sign-in page's question: the app's restriction (as clientRestriction reads it) and every upstream provider's button, by name */
const doorColumns = (db: Kysely<Database>, clientId: Expression<string | null>) =>
  [
    restrictionJson(db, clientId).as('restriction'),
    sql<{ name: string; display_name: string; icon_url: string | null }[]>`(SELECT coalesce(json_agg(json_build_object('name', u.name, 'display_name', u.display_name, 'icon_url', u.icon_url) ORDER BY u.name), '[]') FROM upstream_providers u)`.as('providers'),
  ] as const;

/** compiled once: the page's question in one statement */
const doorsOf = compiledStatement((db: Kysely<Database>, clientId: string | null) => db.selectNoFrom([...doorColumns(db, sql.val(clientId))]));

/**
 * compiled once per clock ("system": the database's now(); "fixed": a test's clock, its time the last value): the
 * page's question and the step its sign-in reached (authn-transaction.ts liveStepOf), one statement for every sign-in
 * page shown
 */
const doorsAndStepOf = compiledOnce((db: Kysely<Database>, shape: ClockShape, clientId: string | null, uid: string, ...at: string[]) =>
  db.selectNoFrom([...doorColumns(db, sql.val(clientId)), liveStepOf(db, sql.val(uid), sqlNowOf(shape, at[0])).as('step')]),
);

type Doors = { restriction: MethodRestriction | null; providers: { name: string; displayName: string; iconUrl: string | null }[] };
const doorsFromRow = (row: { restriction: Parameters<typeof restrictionFromJson>[0]; providers: { name: string; display_name: string; icon_url: string | null }[] }): Doors => ({
  restriction: restrictionFromJson(row.restriction),
  providers: row.providers.map((u) => ({ name: u.name, displayName: u.display_name, iconUrl: u.icon_url })),
});

/** the app's restriction (clientRestriction) and the upstream providers' buttons, in one statement: every sign-in page asks */
export async function restrictionAndProviders(db: Kysely<Database>, clientId: string | undefined): Promise<Doors> {
  return doorsFromRow((await doorsOf(db, clientId ?? null)).rows[0]!);
}

/** restrictionAndProviders, and the step the sign-in `uid` reached (null before its password step), in one statement */
export async function restrictionProvidersAndStep(db: Kysely<Database>, clock: Clock, clientId: string | undefined, uid: string): Promise<Doors & { step: AuthnState | null }> {
  const { shape, at } = clockValues(clock);
  const row = (await doorsAndStepOf(db, shape, clientId ?? null, uid, ...at)).rows[0]!;
  return { ...doorsFromRow(row), step: row.step };
}

/** the user's organizations (accepted memberships) and the methods each allows, by slug; the id a value or a column */
export function membershipMethods(db: Kysely<Database>, userId: Expression<string>) {
  return db
    .selectFrom('tenant_members as m')
    .innerJoin('tenants as t', 't.id', 'm.tenant_id')
    .select(['t.name', 't.slug', 't.allowed_methods'])
    .where('m.user_id', '=', userId)
    .where('m.accepted_at', 'is not', null)
    .orderBy('t.slug');
}

/** the first of these memberships (membershipMethods, in its order) whose organization does not allow `method` */
export function firstRefusing(rows: readonly { name: string; allowed_methods: string[] }[], method: string): MethodRestriction | null {
  const refusing = rows.find((r) => !r.allowed_methods.includes(method));
  return refusing ? { organization: refusing.name, allowed: refusing.allowed_methods } : null;
}

/** the first organization of the user (accepted membership) that does not allow `method` */
export async function memberRestriction(db: Kysely<Database>, userId: string, method: string): Promise<MethodRestriction | null> {
  return firstRefusing(await membershipMethods(db, sql.val(userId)).execute(), method);
}

export const allows = (r: MethodRestriction | null, method: string): boolean => !r || r.allowed.includes(method);

/** "Password or Google": the allowed methods in words, for the refusal page */
export function describeMethods(allowed: string[], displayNames: Map<string, string>): string {
  const words = allowed.map((m) => (m === 'password' ? 'email and password' : displayNames.get(m) ?? m));
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}
