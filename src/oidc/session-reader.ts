import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { storedId } from './payload-rows.ts';

export interface SignedInSession {
  /** the session's stored id (the digest of the cookie's value), as the session list shows it */
  id: string;
  accountId: string;
  amr: string[];
  acr: string | undefined;
  /** seconds since the epoch of the sign-in */
  loginTs: number;
}

/** our own pages (the account page) read the provider's session cookie: one session for everything */
export function createSessionReader(provider: Provider) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<SignedInSession | null> => {
    const ctx = provider.createContext(req, res);
    const session = await provider.Session.get(ctx as never);
    if (!session.accountId) return null;
    return { id: storedId('Session', (session as unknown as { jti: string }).jti), accountId: session.accountId, amr: session.amr ?? [], acr: session.acr, loginTs: session.loginTs ?? 0 };
  };
}

export type SessionReader = ReturnType<typeof createSessionReader>;
