import type { FastifyInstance } from 'fastify';
import { meta, type AccountDeps } from './deps.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' } } } as const;
const csrfBody = { type: 'object', properties: { _csrf: { type: 'string' } } } as const;

/** POST /account/sessions/:id/revoke and /account/apps/:id/revoke. */
export default async function accountSessions(app: FastifyInstance, deps: AccountDeps) {
  const opts = { preValidation: app.csrfProtection, schema: { params: idParams, body: csrfBody } };
  app.post('/account/sessions/revoke-others', { preValidation: app.csrfProtection, schema: { body: csrfBody } }, async (req, reply) => {
    const n = await deps.accounts.signOutEverywhereElse(req.accountUser!, req.accountSessionId!, meta(req));
    return reply.redirect(`/account?done=${n ? 'others_signed_out' : 'no_others'}`, 303);
  });
  app.post<{ Params: { id: string } }>('/account/sessions/:id/revoke', opts, async (req, reply) => {
    await deps.accounts.revokeSession(req.accountUser!, req.params.id, meta(req));
    return reply.redirect(req.params.id === req.accountSessionId ? '/' : '/account?done=session', 303);
  });
  app.post<{ Params: { id: string } }>('/account/apps/:id/revoke', opts, async (req, reply) => {
    await deps.accounts.revokeApp(req.accountUser!, req.params.id, meta(req));
    return reply.redirect('/account?done=app', 303);
  });
}
