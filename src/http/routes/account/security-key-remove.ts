import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { confirmBody, meta, page, proof, type AccountDeps, type ConfirmBody } from './deps.ts';
import { turnOff } from './disable.ts';
import { errorText, translate } from '../../locale.ts';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f-]{36}$' } } } as const;

/**
 * GET/POST /account/security-keys/:id/remove: confirm with the password and a second factor, under the same rules as
 * an authenticator: the last factor of all turns 2FA off (refused while an organization requires it), and a key
 * an organization needs ("security keys only") cannot go while it is the last one.
 */
export default async function accountSecurityKeyRemove(app: FastifyInstance, deps: AccountDeps) {
  const show = async (reply: Parameters<typeof page>[0], userId: string, id: string, error?: string, status = 200) => {
    const { keys, devices } = await deps.twoFactor.status(userId);
    const key = keys.find((k) => k.id === id);
    if (!key) return reply.redirect('/account', 303);
    const last = keys.length + devices.length === 1;
    const text = last
      ? { ...turnOff(), explanation: `${translate('pages.onlySecondFactor', { name: key.name })} ${turnOff().explanation}` }
      : {
          title: translate('pages.removeNamed', { name: key.name }),
          explanation: translate('pages.removeKeyExplanation'),
          button: translate('pages.removeKey'),
        };
    return page(reply, deps.render('account/confirm.njk', { csrfToken: reply.generateCsrf(), ...text, action: `/account/security-keys/${id}/remove`, danger: true, keyProof: true, error }), status);
  };

  app.get<{ Params: { id: string } }>('/account/security-keys/:id/remove', { schema: { params: idParams } }, async (req, reply) => show(reply, req.accountUser!.id, req.params.id));

  app.post<{ Params: { id: string }; Body: ConfirmBody }>(
    '/account/security-keys/:id/remove',
    { preValidation: app.csrfProtection, schema: { params: idParams, body: confirmBody } },
    async (req, reply) => {
      const user = req.accountUser!;
      try {
        const { keys, devices } = await deps.twoFactor.status(user.id);
        const last = keys.length + devices.length === 1 && keys[0]?.id === req.params.id;
        await deps.twoFactor.removeKey(user, req.params.id, req.body.password, proof(req.body), meta(req));
        return reply.redirect(last ? '/account?done=disabled' : '/account?done=key_removed', 303);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return show(reply, user.id, req.params.id, errorText(err), err.httpStatus);
      }
    },
  );
}
