import type { RequestMeta, UserService } from '../../src/domain/users/user.service.ts';

/** users.authenticate() as a sign-in uses it: its writes (audit row, rehash) awaited; the user, or null */
export async function passwordSignIn(users: UserService, email: string, password: string, meta: RequestMeta & { clientId?: string } = {}) {
  const checked = await users.authenticate(email, password, meta);
  await checked?.written;
  return checked ? checked.user : null;
}
