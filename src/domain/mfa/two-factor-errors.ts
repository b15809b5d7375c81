// The errors of two-factor changes and checks (two-factor.service.ts), each with the message a user is shown.
import { DomainError } from '../errors.ts';

export class SecondFactorRequiredError extends DomainError {
  constructor() {
    super('second_factor_invalid', 'Enter your password and a current authentication code (or a recovery code).', 403);
  }
}

export class TwoFactorRequiredByPolicyError extends DomainError {
  constructor() {
    super('two_factor_required', 'Your organization requires two-factor authentication, so it cannot be turned off.', 409);
  }
}

export class FactorAlreadyActiveError extends DomainError {
  constructor() {
    super('factor_already_active', 'Two-factor authentication is already on for this account: sign in with it.', 409);
  }
}

export class SignInChangedError extends DomainError {
  constructor() {
    super('interaction_expired', 'This sign-in is no longer valid because the account changed. Start again.', 400);
  }
}
