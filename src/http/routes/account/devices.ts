import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { confirmBody, meta, page, type AccountDeps, type ConfirmBody } from './deps.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f-]{36}$' } } } as const;

/** GET/POST /account/2fa/devices/:id/remove: confirm with password and a second factor. */
export default async function accountDevices(app: FastifyInstance, deps: AccountDeps) {
  const show = async (reply: Parameters<typeof page>[0], userId: string, id: string, error?: string, status = 200) => {
    const device = (await deps.twoFactor.status(userId)).devices.find((d) => d.id === id);
    if (!device) return reply.redirect('/account', 303);
    return page(
      reply,
      deps.render('account/confirm.njk', {
        csrfToken: reply.generateCsrf(),
        title: `Remove “${device.name}”?`,
        explanation: 'Codes from this authenticator will stop working. Confirm with your password and a code from another authenticator or a recovery code.',
        action: `/account/2fa/devices/${id}/remove`,
        button: 'Remove authenticator',
        error,
      }),
      status,
    );
  };

  app.get<{ Params: { id: string } }>('/account/2fa/devices/:id/remove', { schema: { params: idParams } }, async (req, reply) => show(reply, req.accountUser!.id, req.params.id));

  app.post<{ Params: { id: string }; Body: ConfirmBody }>(
    '/account/2fa/devices/:id/remove',
    { preValidation: app.csrfProtection, schema: { params: idParams, body: confirmBody } },
    async (req, reply) => {
      try {
        await deps.twoFactor.removeDevice(req.accountUser!, req.params.id, req.body.password, req.body.code ?? '', meta(req));
        return reply.redirect('/account?done=removed', 303);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return show(reply, req.accountUser!.id, req.params.id, err.message, err.httpStatus);
      }
    },
  );
}
