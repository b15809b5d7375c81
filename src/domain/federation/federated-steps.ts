// A sign-in through an upstream OpenID provider as a strategy of the sign-in state machine (mfa/sign-in-flow.ts):
// the upstream is the first factor, in place of the password. What follows is exactly the password step's tail: the
// same authn_transactions row, the same `mfa-policy.decide`, the same second factor, enrollment and grace steps, the
// same credential epoch. The upstream's own second factor counts only when its trust rule accepted it (`mfa`).
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { amrFor, type Amr } from '../../oidc/acr-amr.ts';
import type { Clock } from '../clock.ts';
import { beginAuthnTransaction } from '../mfa/authn-transaction.ts';
import { FACTOR_KINDS, satisfiedBy, type MfaPolicy } from '../mfa/mfa-policy.ts';
import type { FlowResult, RequestContext, Step } from '../mfa/sign-in-flow.ts';
import type { TwoFactorService } from '../mfa/two-factor.service.ts';
import type { AuthenticatedUser, User } from '../users/user.service.ts';

export interface FederatedStepDeps {
  db: Kysely<Database>;
  clock: Clock;
  twoFactor: TwoFactorService;
  policy: MfaPolicy;
  ttlSeconds: number;
  done(user: User, amr: Amr[], epoch: number): Promise<FlowResult>;
}

export function createFederatedSteps(deps: FederatedStepDeps) {
  const { db, clock, twoFactor } = deps;

  return {
    /**
     * The upstream vouched for `user` (a linked identity, checked by the federation service). `upstreamMfa`: the
     * trust rule accepted the upstream's second factor. The result is what the password step would give.
     */
    async federated(uid: string, user: AuthenticatedUser, upstreamMfa: boolean, request: RequestContext): Promise<FlowResult> {
      const [kinds, decision] = await Promise.all([twoFactor.factorKinds(user.id), deps.policy.decide({ userId: user.id, ...request })]);
      const fed = amrFor({ federated: { mfa: upstreamMfa } });
      // the upstream's accepted second factor is this sign-in's second factor, if the policy counts it
      if (upstreamMfa && satisfiedBy(decision, fed)) return deps.done(user, fed, user.credentialEpoch);
      const withCode = amrFor({ federated: { mfa: false }, totp: true });
      const allowedFactors = decision.required ? decision.factors : [...FACTOR_KINDS];
      const begin = async (state: Step, amr: Amr[]): Promise<FlowResult> => {
        await beginAuthnTransaction(db, clock, { uid, userId: user.id, state, amr, passwordAt: clock.now(), epoch: user.credentialEpoch, allowedFactors }, deps.ttlSeconds);
        return { outcome: 'next', step: state };
      };
      // a user with a factor of their own proves it (an upstream never replaces it unless trusted)
      if (kinds.length) return begin('second_factor', withCode);
      if (decision.required) return begin('enroll', withCode);
      if (decision.graceUntil) return begin('grace', amrFor({ federated: { mfa: false } }));
      return deps.done(user, amrFor({ federated: { mfa: false } }), user.credentialEpoch);
    },
  };
}
