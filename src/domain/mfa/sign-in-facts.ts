// What the password step needs to know once the password is right, in one statement: which second factors the user
// has, what the policy reads (the app's rule and the user's organizations that require 2FA), and the sign-in methods
// each of the user's organizations allows. Three services each ask for their part elsewhere; on the sign-in's hot
// path they share one round trip (four statements before).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { membershipMethods } from '../federation/sign-in-methods.ts';
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

export async function signInFacts(db: Kysely<Database>, userId: string, clientId: string | null): Promise<SignInFacts> {
  const user = sql.val(userId);
  const row = await db
    .selectNoFrom([
      ...factorFlags(user),
      policyInputsAsJson(db, user, sql.val(clientId)).as('policy'),
      sql<{ name: string; allowed_methods: string[] }[]>`(SELECT coalesce(json_agg(m ORDER BY m.slug), '[]') FROM (${membershipMethods(db, user)}) m)`.as('memberships'),
    ])
    .executeTakeFirstOrThrow();
  return {
    kinds: kindsOf(row),
    policy: policyInputsFromJson(row.policy),
    memberships: row.memberships,
  };
}
