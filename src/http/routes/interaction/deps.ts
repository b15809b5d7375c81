import type { Clock } from '../../../domain/clock.ts';
import type { UserService } from '../../../domain/users/user.service.ts';
import type { Interactions } from '../../../oidc/interactions.ts';
import type { Render } from '../../views.ts';

export interface InteractionDeps {
  interactions: Interactions;
  users: UserService;
  render: Render;
  clock: Clock;
}
