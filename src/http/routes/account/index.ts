import type { FastifyInstance } from 'fastify';
import { DONE_MESSAGES, page, type AccountDeps } from './deps.ts';

/** what the account page shows besides the user: 2FA status, sessions, apps */
export async function accountView(deps: AccountDeps, userId: string, currentSessionId: string | null) {
  const [status, sessions, apps] = await Promise.all([deps.twoFactor.status(userId), deps.accounts.sessions(userId), deps.accounts.grants(userId)]);
  return { status, sessions: sessions.map((s) => ({ ...s, current: s.id === currentSessionId })), apps };
}

/** GET /account: profile summary and the two-factor section. */
export default async function accountIndex(app: FastifyInstance, deps: AccountDeps) {
  app.get<{ Querystring: { done?: string } }>(
    '/account',
    { schema: { querystring: { type: 'object', properties: { done: { type: 'string', maxLength: 32 } } } } },
    async (req, reply) => {
      const user = req.accountUser!;
      return page(
        reply,
        deps.render('account/index.njk', {
          ...(await accountView(deps, user.id, req.accountSessionId)),
          user,
          csrfToken: reply.generateCsrf(),
          flash: req.query.done ? DONE_MESSAGES[req.query.done] : undefined,
        }),
      );
    },
  );
}
