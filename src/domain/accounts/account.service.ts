// Everything a person does with their own account besides 2FA: sign-up, invitations, email verification,
// password reset and change, profile, sessions. Mail goes through the outbox in the same transaction. One file per
// concern; this one puts them together as the one service the routes know.
import { accountHelpers, type AccountDeps } from './account-common.ts';
import { sessionFlows } from './account-sessions.ts';
import { invitationFlows } from './invitations.ts';
import { passwordFlows } from './passwords.ts';
import { profileFlows } from './profile.ts';
import { signUpFlows } from './sign-up.ts';

export { LinkInvalidError } from './account-common.ts';

export function createAccountService(deps: AccountDeps) {
  const h = accountHelpers(deps);
  return {
    signupEnabled: deps.signupEnabled,
    ...signUpFlows(deps, h),
    ...invitationFlows(deps, h),
    ...passwordFlows(deps, h),
    ...profileFlows(deps, h),
    ...sessionFlows(deps, h),
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
