// A person's own sign-in sessions and app authorizations on the account page: the lists and their revocation.
import type { RequestMeta, User } from '../users/user.service.ts';
import type { AccountDeps, AccountHelpers } from './account-common.ts';
import { appNames, listGrants, listSessions, revokeApp, revokeOtherSessions, revokeSession, sessionOrigins } from './session-list.ts';

export function sessionFlows(deps: AccountDeps, h: AccountHelpers) {
  const { db } = deps;
  const { audit } = h;
  return {
    sessions: (userId: string) => listSessions(db, deps.clock, userId),
    grants: (userId: string) => listGrants(db, deps.clock, userId),

    async revokeSession(user: User, sessionId: string, meta: RequestMeta): Promise<void> {
      await db.transaction().execute(async (trx) => {
        if (await revokeSession(trx, user.id, sessionId)) await audit(trx, 'session.revoked', user.id, meta, { sessionId });
      });
    },

    /** "Sign out everywhere else": every session but this browser's ends (their tokens follow the session rules) */
    async signOutEverywhereElse(user: User, currentSessionId: string, meta: RequestMeta): Promise<number> {
      return db.transaction().execute(async (trx) => {
        const n = await revokeOtherSessions(trx, user.id, currentSessionId);
        if (n) await audit(trx, 'session.revoked', user.id, meta, { others: n });
        return n;
      });
    },

    /** client id → app name, for the apps the sessions list names */
    appNames: (clientIds: string[]) => appNames(db, clientIds),
    sessionOrigins: (userId: string, loginTimes: number[]) => sessionOrigins(db, userId, loginTimes),

    async revokeApp(user: User, clientId: string, meta: RequestMeta): Promise<void> {
      await db.transaction().execute(async (trx) => {
        if (await revokeApp(trx, user.id, clientId)) await audit(trx, 'grant.revoked', user.id, meta, { clientId });
      });
    },
  };
}
