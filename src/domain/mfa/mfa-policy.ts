// The one place that decides whether a sign-in needs a second factor. Every path that creates a session or issues
// a token asks it: the login prompt check (browser sign-in, SSO reuse, prompt=none), the password step, the
// token store (refresh tokens, access tokens, codes), and 2FA removal.
import { sql, type Expression, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../clock.ts';

export const ACR_PWD = 'urn:gatehouse:acr:pwd';
export const ACR_MFA = 'urn:gatehouse:acr:mfa';

/** kinds of second factor: an authenticator app, or a security key / passkey */
export type FactorKind = 'totp' | 'webauthn';
export const FACTOR_KINDS: readonly FactorKind[] = ['totp', 'webauthn'];

/** the amr values that show a factor of this kind was used in the sign-in */
const FACTOR_AMR: Record<FactorKind, string[]> = { totp: ['otp'], webauthn: ['hwk', 'swk'] };

export interface MfaRequirementInput {
  /** acr_values of the authorization request, space-separated */
  acrValues?: string | null;
  /** values of an essential acr claim request (claims parameter) */
  essentialAcrs?: string[] | null;
}

/** a relying app demands MFA when every acr it accepts is the mfa one */
export function requestDemandsMfa(input: MfaRequirementInput): boolean {
  const essentials = input.essentialAcrs?.filter(Boolean) ?? [];
  if (essentials.length && essentials.every((a) => a === ACR_MFA)) return true;
  const values = (input.acrValues ?? '').split(' ').filter(Boolean);
  return values.length > 0 && values.every((a) => a === ACR_MFA);
}

export interface MfaDecision {
  /** the second factor must be completed in this authentication event */
  required: boolean;
  /** why: 'request', 'client', 'tenant:<slug>' */
  reasons: string[];
  /** a tenant rollout is in its grace period for this user: the earliest personal deadline */
  graceUntil: Date | null;
  /** the names of the organizations whose requirement applies now (what the pages name, not the app) */
  organizations: string[];
  /** the names of the organizations whose requirement is still in its grace period for this user */
  graceOrganizations: string[];
  /**
   * the second factors that count while the requirement applies (an organization may allow security keys only);
   * every kind unless restricted. A recovery code signs in only to set up one of these (it is not one of them).
   */
  factors: FactorKind[];
}

/**
 * Does a sign-in that produced `amr` satisfy the decision? Not required: yes. Required: a second factor ("mfa"), and
 * when the allowed factors are restricted, one of those (a session from an authenticator app does not satisfy
 * "security keys only").
 */
export function satisfiedBy(decision: Pick<MfaDecision, 'required' | 'factors'>, amr: readonly string[] | undefined): boolean {
  if (!decision.required) return true;
  if (!amr?.includes('mfa')) return false;
  if (decision.factors.length === FACTOR_KINDS.length) return true;
  return decision.factors.some((k) => FACTOR_AMR[k].some((v) => amr.includes(v)));
}

const allowedKinds = (list: readonly string[] | null | undefined): FactorKind[] => FACTOR_KINDS.filter((k) => !list || list.includes(k));

export interface MfaPolicyInput extends MfaRequirementInput {
  userId?: string | null;
  clientId?: string | null;
}

/** what decide() reads: the client's rule (and its tenant's), and each organization of the user that requires 2FA */
export interface PolicyInputRow {
  of_client: boolean;
  require_mfa: boolean | null;
  id: string | null;
  slug: string | null;
  name: string | null;
  require_2fa: boolean | null;
  enforce_from: Date | null;
  second_factors: string[] | null;
  mfa_deadline: Date | null;
}

/**
 * The one statement of decide()'s inputs, for a user and a client given as values or as columns of an enclosing
 * statement (a token read can fetch them with the token: adapter.ts). A null user or client matches nothing.
 */
export function policyInputs(db: Kysely<Database>, userId: Expression<string | null>, clientId: Expression<string | null>) {
  return db
    .selectFrom('oidc_clients as c')
    .leftJoin('tenants as t', 't.id', 'c.tenant_id')
    .select([sql<boolean>`true`.as('of_client'), 'c.require_mfa', 't.id', 't.slug', 't.name', 't.require_2fa', 't.enforce_from', 't.second_factors', sql<Date | null>`NULL::timestamptz`.as('mfa_deadline')])
    .where('c.client_id', '=', clientId)
    .unionAll(
      db
        .selectFrom('tenant_members as m')
        .innerJoin('tenants as t', 't.id', 'm.tenant_id')
        .select([sql<boolean>`false`.as('of_client'), sql<boolean>`false`.as('require_mfa'), 't.id', 't.slug', 't.name', 't.require_2fa', 't.enforce_from', 't.second_factors', 'm.mfa_deadline'])
        .where('m.user_id', '=', userId)
        .where('m.accepted_at', 'is not', null)
        .where('t.require_2fa', '=', true),
    );
}

/** policyInputs() aggregated to one JSON value, for a column of another statement (read back with policyInputsFromJson) */
export function policyInputsAsJson(db: Kysely<Database>, userId: Expression<string | null>, clientId: Expression<string | null>) {
  return sql<unknown>`(SELECT coalesce(json_agg(p), '[]'::json) FROM (${policyInputs(db, userId, clientId)}) p)`;
}

/** decide()'s input rows as they come back aggregated to JSON (json_agg) inside another statement */
export function policyInputsFromJson(rows: unknown): PolicyInputRow[] {
  const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : null);
  return (Array.isArray(rows) ? rows : []).map((r: PolicyInputRow & Record<string, unknown>) => ({ ...r, enforce_from: date(r.enforce_from), mfa_deadline: date(r.mfa_deadline) }));
}

export function createMfaPolicy(deps: { db: Kysely<Database>; clock: Clock }) {
  const { db, clock } = deps;

  /** `fetched`: the inputs already read for exactly this user and client (policyInputs), in the caller's statement */
  async function decide(input: MfaPolicyInput, fetched?: PolicyInputRow[]): Promise<MfaDecision> {
    const now = clock.now();
    const reasons: string[] = [];
    let graceUntil: Date | null = null;
    const organizations: string[] = [];
    const graceOrganizations: string[] = [];
    // restrictions of the organizations whose requirement applies: their intersection (each only removes kinds)
    let factors: FactorKind[] = [...FACTOR_KINDS];
    const restrict = (list: string[] | null | undefined) => void (factors = factors.filter((k) => allowedKinds(list).includes(k)));
    if (requestDemandsMfa(input)) reasons.push('request');
    // the client's rule (and its tenant's, for a tenant's private app) and the user's organizations that require 2FA:
    // one statement, since every token read and sign-in step asks
    const userId = input.userId && /^[0-9a-f-]{36}$/i.test(input.userId) ? input.userId : null;
    const clientId = input.clientId || null;
    const rows: PolicyInputRow[] = fetched ?? (clientId || userId ? await policyInputs(db, sql.val(userId), sql.val(clientId)).execute() : []);
    const c = rows.find((r) => r.of_client);
    if (c?.require_mfa) reasons.push('client');
    // a tenant's private app applies the tenant's rule to everyone who signs in to it
    if (c?.require_2fa && (!c.enforce_from || c.enforce_from <= now)) {
      reasons.push(`tenant:${c.slug}`);
      organizations.push(c.name!);
      restrict(c.second_factors);
    }
    const memberships = rows.filter((r) => !r.of_client);
    if (userId) {
      for (const r of memberships) {
        const deadline = r.mfa_deadline ?? r.enforce_from;
        if (!deadline || deadline <= now) {
          reasons.push(`tenant:${r.slug}`);
          organizations.push(r.name!);
          restrict(r.second_factors);
        } else {
          graceOrganizations.push(r.name!);
          if (!graceUntil || deadline < graceUntil) graceUntil = deadline;
        }
      }
      // each member's deadline is fixed the first time it applies: moving the tenant's date later does not move it
      if (memberships.some((r) => !r.mfa_deadline && r.enforce_from && r.enforce_from > now)) {
        await db
          .updateTable('tenant_members')
          .set({ mfa_deadline: sql`(SELECT enforce_from FROM tenants WHERE tenants.id = tenant_members.tenant_id)` })
          .where('user_id', '=', userId)
          .where('mfa_deadline', 'is', null)
          .where('tenant_id', 'in', memberships.filter((r) => r.enforce_from && r.enforce_from > now).map((r) => r.id!))
          .execute();
      }
    }
    // two organizations that leave nothing in common: the stricter one (keys) wins, never "no factor at all"
    if (!factors.length) factors = ['webauthn'];
    const required = reasons.length > 0;
    return { required, reasons: [...new Set(reasons)], graceUntil: required ? null : graceUntil, factors, organizations: [...new Set(organizations)], graceOrganizations: required ? [] : graceOrganizations };
  }

  async function removalBlockedBy(userId: string, remaining: readonly FactorKind[]): Promise<string[]> {
    if (!/^[0-9a-f-]{36}$/i.test(userId)) return [];
    const rows = await db
      .selectFrom('tenant_members as m')
      .innerJoin('tenants as t', 't.id', 'm.tenant_id')
      .select(['t.name', 't.second_factors'])
      .where('m.user_id', '=', userId)
      .where('m.accepted_at', 'is not', null)
      .where('t.require_2fa', '=', true)
      .orderBy('t.name')
      .execute();
    return rows.filter((r) => !allowedKinds(r.second_factors).some((k) => remaining.includes(k))).map((r) => r.name);
  }

  return {
    decide,

    /** is an already-issued token (or session) still acceptable under today's policy? */
    async tokenAcceptable(userId: string | undefined, clientId: string | undefined, amr: string[] | undefined, fetched?: PolicyInputRow[]): Promise<boolean> {
      if (!userId) return true; // machine tokens
      // a security key satisfies every restriction: no query on the hot path
      if (amr?.includes('mfa') && (amr.includes('hwk') || amr.includes('swk'))) return true;
      return satisfiedBy(await decide({ userId, clientId }, fetched), amr);
    },

    /**
     * May the user be left with only these kinds of factor? Every organization of theirs that requires 2FA (from now
     * or from a date) needs one of its allowed kinds to remain; [] asks about removing the last factor.
     */
    async mayRemoveFactors(userId: string, remaining: readonly FactorKind[]): Promise<boolean> {
      return (await removalBlockedBy(userId, remaining)).length === 0;
    },

    /** the organizations (by name) that forbid leaving the user with only these kinds of factor; [] = none does */
    removalBlockedBy,

  };
}

export type MfaPolicy = ReturnType<typeof createMfaPolicy>;
