import type { FastifyInstance } from 'fastify';
import { DONE_MESSAGES, page, type AccountDeps } from './deps.ts';

/** GET /account: profile summary and the two-factor section. */
export default async function accountIndex(app: FastifyInstance, deps: AccountDeps) {
  app.get<{ Querystring: { done?: string } }>(
    '/account',
    { schema: { querystring: { type: 'object', properties: { done: { type: 'string', maxLength: 32 } } } } },
    async (req, reply) => {
      const user = req.accountUser!;
      const status = await deps.twoFactor.status(user.id);
      return page(
        reply,
        deps.render('account/index.njk', {
          user,
          status,
          csrfToken: reply.generateCsrf(),
          flash: req.query.done ? DONE_MESSAGES[req.query.done] : undefined,
        }),
      );
    },
  );
}
