import type { Services } from '../../src/container.ts';
import type { CreateClientInput } from '../../src/domain/clients/client.service.ts';

let n = 0;
export const PASSWORD = 'correct horse battery staple';

export async function makeUser(services: Services, over: { email?: string; password?: string; name?: string } = {}) {
  const email = over.email ?? `user${++n}-${Date.now()}@example.com`;
  const password = over.password ?? PASSWORD;
  const user = await services.users.create({ email, password, name: over.name ?? 'Test User', emailVerified: true });
  return { ...user, password };
}

export async function makeClient(services: Services, over: Partial<CreateClientInput> = {}) {
  const redirectUri = over.redirectUris?.[0] ?? 'http://127.0.0.1:9/callback';
  const c = await services.clients.create({
    name: 'Test App',
    redirectUris: [redirectUri],
    postLogoutRedirectUris: ['http://127.0.0.1:9/logged-out'],
    firstParty: true,
    grantTypes: ['refresh_token'],
    ...over,
  });
  return { clientId: c.clientId, clientSecret: c.clientSecret, redirectUri };
}

/** what the invited person does: follow the emailed link (join an organization, or set a password to accept) */
export async function acceptInvitation(services: Services, email: string, password = 'my accepted passphrase') {
  const rows = await services.db.selectFrom('email_outbox').select('text_body').where('to_address', '=', email).orderBy('id', 'desc').execute();
  for (const r of rows) {
    const join = /\/join\?token=([A-Za-z0-9_-]+)/.exec(r.text_body);
    if (join) return services.accounts.joinTenant(join[1]!, {});
    const invite = /\/invite\?token=([A-Za-z0-9_-]+)/.exec(r.text_body);
    if (invite) return services.accounts.acceptInvite(invite[1]!, password, undefined, {});
  }
  throw new Error(`no invitation mail for ${email}`);
}
