// What the password step needs to know once the password is right, in one statement: which second factors the user
// has, what the policy reads (the app's rule and the user's organizations that require 2FA), and the sign-in methods
// each of the user's organizations allows. Three services each ask for their part elsewhere; on the sign-in's hot
// path they share one round trip (four statements before), and that round trip is the account's own read by address.
import { sql, type Kysely } from 'kysely';
import { compiledStatement } from '../../db/compiled.ts';
import type { Database } from '../../db/database.ts';
import { linkProposedFlag } from '../federation/link.service.ts';
import { membershipMethods, restrictionFromJson, restrictionJson, type MethodRestriction } from '../federation/sign-in-methods.ts';
import { normalizeEmail } from '../users/user.repository.ts';
import type { UserRow } from '../users/user.service.ts';
import { factorFlags, kindsOf } from './factor-kinds.ts';
import { policyInputsAsJson, policyInputsFromJson, type FactorKind, type PolicyInputRow } from './mfa-policy.ts';

export interface SignInFacts {
  /** the user's active second factors, security keys first (as TwoFactorService.factorKinds orders them) */
  kinds: FactorKind[];
  /** decide()'s inputs for this user and app (mfa-policy.ts policyInputs) */
  policy: PolicyInputRow[];
  /** the user's organizations and the methods each allows, by slug (sign-in-methods.ts membershipMethods) */
  memberships: { name: string; allowed_methods: string[] }[];
}

const factsOf = (row: { webauthn: unknown; totp: unknown; policy: unknown; memberships: SignInFacts['memberships'] }): SignInFacts => ({
  kinds: kindsOf(row),
  policy: policyInputsFromJson(row.policy),
  memberships: row.memberships,
});

/**
 * compiled once (db/compiled.ts): every password sign-in reads it. One row whether or not the address is known: the
 * app's rule, and the account (its columns null for an unknown address) with its facts.
 */
const byEmailWithFacts = compiledStatement((db: Kysely<Database>, normalized: string, clientId: string | null, uid: string) => {
  const user = sql<string>`users.id`;
  return db
    .selectFrom(db.selectNoFrom(restrictionJson(db, sql.val(clientId)).as('restriction')).as('app'))
    .leftJoin('users', (join) => join.on('users.email_normalized', '=', normalized))
    .select('app.restriction')
    .selectAll('users')
    .select([
      ...factorFlags(user),
      policyInputsAsJson(db, user, sql.val(clientId)).as('policy'),
      sql<SignInFacts['memberships']>`(SELECT coalesce(json_agg(m ORDER BY m.slug), '[]') FROM (${membershipMethods(db, user)}) m)`.as('memberships'),
      linkProposedFlag(sql.val(uid)).as('link_proposed'),
    ]);
});

/**
 * The app's sign-in-method rule (sign-in-methods.ts clientRestriction) and the account by address (user.repository.ts
 * findUserRowByEmail) with its sign-in's facts and whether an upstream proposed a link to this sign-in (`uid`,
 * link.service.ts linkProposedFlag), in one statement: the password step reads them beside the guess counters, before
 * the hash. A read only: the account is dropped when the password turns out wrong or the attempt is refused.
 */
export async function accountWithFacts(
  db: Kysely<Database>,
  email: string,
  clientId: string | null,
  uid: string,
): Promise<{ restriction: MethodRestriction | null; account?: { row: UserRow; facts: SignInFacts; linkProposed: boolean } }> {
  const { restriction, webauthn, totp, policy, memberships, link_proposed: linkProposed, ...row } = (await byEmailWithFacts(db, normalizeEmail(email), clientId, uid)).rows[0]!;
  if (row.id === null) return { restriction: restrictionFromJson(restriction) };
  return { restriction: restrictionFromJson(restriction), account: { row: row as UserRow, facts: factsOf({ webauthn, totp, policy, memberships }), linkProposed } };
}
