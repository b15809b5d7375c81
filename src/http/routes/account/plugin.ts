import type { FastifyInstance } from 'fastify';
import { signInFor, type AccountDeps } from './deps.ts';
import accountIndex from './index.ts';
import accountSignIn from './sign-in.ts';
import accountEnroll from './enroll.ts';
import accountRecoveryCodes from './recovery-codes.ts';
import accountDevices from './devices.ts';
import accountDisable from './disable.ts';
import accountProfile from './profile.ts';
import accountSessions from './sessions.ts';
import accountTokens from './tokens.ts';
import accountSecurityKeys from './security-keys.ts';
import accountSecurityKeyRemove from './security-key-remove.ts';
import accountRecoveryCodesView from './recovery-codes-view.ts';
import accountLinkedProviders from './linked-providers.ts';
import { translate } from '../../locale.ts';

/** /account: self-service, for whoever holds a Gatehouse session. */
export default async function accountPlugin(app: FastifyInstance, deps: AccountDeps) {
  await app.register(accountSignIn, deps);
  // everything else needs a signed-in user
  await app.register(async (signedIn) => {
    signedIn.decorateRequest('accountUser', null);
    signedIn.decorateRequest('accountSessionId', null);
    signedIn.decorateRequest('accountSignIn', null);
    signedIn.addHook('preHandler', async (req, reply) => {
      const session = await deps.readSession(req.raw, reply.raw);
      const user = session ? await deps.users.findById(session.accountId) : null;
      // a session from before a 2FA requirement (or a grace reminder) is not enough once the rule applies:
      // signing in again goes through the policy (second factor, or enrollment)
      const acceptable = user && (await deps.mfaPolicy.tokenAcceptable(user.id, undefined, session!.amr));
      if (!user || !acceptable) {
        if (req.method === 'GET') return reply.redirect(signInFor(req.url), 303);
        return reply.status(401).type('text/html').send(deps.render('errors/error.njk', { title: translate('pages.signedOut'), message: translate('pages.sessionEnded') }));
      }
      req.accountUser = user;
      req.accountSessionId = session!.id;
      // the session's "last active" (a statement at most every few minutes); a failed stamp never fails the page
      await deps.sessionActivity.touch(session!.id, new Date(session!.loginTs * 1000)).catch((err: unknown) => req.log.warn({ err }, 'session activity not recorded'));
      req.accountSignIn = { amr: session!.amr, acr: session!.acr ?? '', authTime: session!.loginTs, source: { model: 'Session', id: session!.id } };
    });
    await signedIn.register(accountIndex, deps);
    await signedIn.register(accountEnroll, deps);
    await signedIn.register(accountRecoveryCodes, deps);
    await signedIn.register(accountDevices, deps);
    await signedIn.register(accountDisable, deps);
    await signedIn.register(accountProfile, deps);
    await signedIn.register(accountSessions, deps);
    await signedIn.register(accountTokens, deps);
    await signedIn.register(accountSecurityKeys, deps);
    await signedIn.register(accountSecurityKeyRemove, deps);
    await signedIn.register(accountRecoveryCodesView, deps);
    if (deps.links) await signedIn.register(accountLinkedProviders, deps);
  });
}
