import type { FastifyInstance } from 'fastify';
import { meta, type AccountDeps } from './deps.ts';

const unlinkParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;
const unlinkBody = {
  type: 'object',
  properties: { _csrf: { type: 'string', maxLength: 256 }, password: { type: 'string', maxLength: 4096 } },
} as const;

/** POST /account/linked-providers/:id/unlink: refused when it is the account's last way to sign in (link.service.ts). */
export default async function accountLinkedProviders(app: FastifyInstance, deps: AccountDeps) {
  app.post<{ Params: { id: string }; Body: { password?: string } }>(
    '/account/linked-providers/:id/unlink',
    { schema: { params: unlinkParams, body: unlinkBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      await deps.links!.unlink(req.accountUser!.id, req.params.id, req.body.password, meta(req));
      return reply.redirect('/account?done=unlinked#linked-providers', 303);
    },
  );
}
