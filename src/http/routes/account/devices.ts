import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { confirmBody, meta, page, proof, type AccountDeps, type ConfirmBody } from './deps.ts';
import { turnOff } from './disable.ts';
import { errorText, translate } from '../../locale.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f-]{36}$' } } } as const;

/**
 * GET/POST /account/2fa/devices/:id/remove: confirm with password and a second factor. Removing the only
 * authenticator turns two-factor authentication off (the service calls disable), so that page says so.
 */
export default async function accountDevices(app: FastifyInstance, deps: AccountDeps) {
  const show = async (reply: Parameters<typeof page>[0], userId: string, id: string, error?: string, status = 200) => {
    const { devices, keys } = await deps.twoFactor.status(userId);
    const device = devices.find((d) => d.id === id);
    if (!device) return reply.redirect('/account', 303);
    const text =
      devices.length === 1 && keys.length === 0
        ? {
            title: turnOff().title,
            explanation: `${translate('pages.onlyAuthenticator', { name: device.name })} ${turnOff().explanation}`,
            button: turnOff().button,
          }
        : {
            title: translate('pages.removeNamed', { name: device.name }),
            explanation: translate('pages.removeAuthenticatorExplanation'),
            button: translate('pages.removeAuthenticator'),
          };
    return page(
      reply,
      deps.render('account/confirm.njk', {
        csrfToken: reply.generateCsrf(),
        ...text,
        action: `/account/2fa/devices/${id}/remove`,
        danger: true,
        keyProof: keys.length > 0,
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
      const user = req.accountUser!;
      try {
        const { devices, keys } = await deps.twoFactor.status(user.id);
        const last = devices.length === 1 && keys.length === 0 && devices[0]!.id === req.params.id;
        await deps.twoFactor.removeDevice(user, req.params.id, req.body.password, proof(req.body), meta(req));
        return reply.redirect(last ? '/account?done=disabled' : '/account?done=removed', 303);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return show(reply, user.id, req.params.id, errorText(err), err.httpStatus);
      }
    },
  );
}
