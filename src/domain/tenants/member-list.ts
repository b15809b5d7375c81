// An organization's member list as its admins see it: role, last sign-in, which kinds of second factor each member
// has, and whether that satisfies the organization (with "security keys only", an authenticator app does not).
import type { Kysely } from 'kysely';
import type { Database, TenantRole } from '../../db/database.ts';
import type { Clock } from '../clock.ts';
import { FACTOR_KINDS, type FactorKind } from '../mfa/mfa-policy.ts';

export type MemberTwoFactorState = 'enrolled' | 'pending' | 'overdue' | 'not_enrolled';

export interface Member {
  userId: string;
  email: string;
  name: string | null;
  role: TenantRole;
  lastSignInAt: Date | null;
  lastSignInAmr: string[] | null;
  /** has a second factor this organization accepts */
  twoFactor: boolean;
  /** the kinds of second factor the member has set up (security keys first) */
  factors: FactorKind[];
  /** enrolled; pending (rollout not over for them: deadline); overdue; not_enrolled (tenant does not require it) */
  state: MemberTwoFactorState;
  deadline: Date | null;
  /** invited, not accepted yet: listed, but the organization has no say over them until they accept */
  invitationPending: boolean;
}

export interface MemberListTenant {
  id: string;
  require2fa: boolean;
  enforceFrom: Date | null;
  secondFactors: FactorKind[];
}

/** members with their 2FA state; coverage = how many have a factor the organization accepts */
export async function listMembers(db: Kysely<Database>, clock: Clock, tenant: MemberListTenant): Promise<{ members: Member[]; coverage: { enrolled: number; total: number } }> {
  const now = clock.now();
  const rows = await db
    .selectFrom('tenant_members as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.email', 'u.name', 'm.role', 'm.last_sign_in_at', 'm.last_sign_in_amr', 'm.mfa_deadline', 'm.accepted_at'])
    .select((eb) => eb.exists(eb.selectFrom('totp_credentials as c').select('c.id').whereRef('c.user_id', '=', 'u.id').where('c.confirmed_at', 'is not', null)).as('totp'))
    .select((eb) => eb.exists(eb.selectFrom('webauthn_credentials as k').select('k.id').whereRef('k.user_id', '=', 'u.id').where('k.confirmed_at', 'is not', null)).as('webauthn'))
    .where('m.tenant_id', '=', tenant.id)
    .orderBy('u.email')
    .execute();
  const accepts = FACTOR_KINDS.filter((k) => tenant.secondFactors.includes(k));
  const members = rows.map((r): Member => {
    if (!r.accepted_at) {
      // nothing about a person who has not accepted is shown to the organization (not even whether they have an
      // account: no name)
      return { userId: r.id, email: r.email, name: null, role: r.role, lastSignInAt: null, lastSignInAmr: null, twoFactor: false, factors: [], state: 'not_enrolled', deadline: null, invitationPending: true };
    }
    const factors = (['webauthn', 'totp'] as const).filter((k) => Boolean(r[k]));
    const deadline = r.mfa_deadline ?? tenant.enforceFrom;
    const twoFactor = factors.some((k) => accepts.includes(k));
    const state: MemberTwoFactorState = twoFactor ? 'enrolled' : !tenant.require2fa ? 'not_enrolled' : deadline && deadline > now ? 'pending' : 'overdue';
    return { userId: r.id, email: r.email, name: r.name, role: r.role, lastSignInAt: r.last_sign_in_at, lastSignInAmr: r.last_sign_in_amr, twoFactor, factors, state, deadline: state === 'pending' ? deadline : null, invitationPending: false };
  });
  const accepted = members.filter((m) => !m.invitationPending);
  return { members, coverage: { enrolled: accepted.filter((m) => m.twoFactor).length, total: accepted.length } };
}

/**
 * Of `userIds` (members of `tenantId`), those who have also joined an organization that `actorId` does not
 * administer. Resetting 2FA weakens the whole account, so for them every organization they belong to has a say: the
 * console does not offer the reset and says what to do instead. One query for the whole list.
 */
export async function membersBeyondActor(db: Kysely<Database>, tenantId: string, actorId: string, userIds: string[]): Promise<Set<string>> {
  if (!userIds.length) return new Set();
  const rows = await db
    .selectFrom('tenant_members as m')
    .select('m.user_id')
    .distinct()
    .where('m.user_id', 'in', userIds)
    .where('m.tenant_id', '!=', tenantId)
    .where('m.accepted_at', 'is not', null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('tenant_members as a')
            .select('a.user_id')
            .whereRef('a.tenant_id', '=', 'm.tenant_id')
            .where('a.user_id', '=', actorId)
            .where('a.role', 'in', ['owner', 'admin'])
            .where('a.accepted_at', 'is not', null),
        ),
      ),
    )
    .execute();
  return new Set(rows.map((r) => r.user_id));
}
