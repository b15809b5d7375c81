import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { confirmBody, meta, page, proof, type AccountDeps, type ConfirmBody } from './deps.ts';
import { errorText, translate } from '../../locale.ts';

/** what turning two-factor off means, in the request's language; also shown when removing the only authenticator (which turns it off) */
export const turnOff = () => ({
  title: translate('pages.turnOffTitle'),
  explanation:
    translate('pages.turnOffExplanation'),
  button: translate('account.turnOff'),
});

/** GET/POST /account/2fa/disable: a confirmation page, then password + current code (or a recovery code). */
export default async function accountDisable(app: FastifyInstance, deps: AccountDeps) {
  const show = async (reply: Parameters<typeof page>[0], userId: string, error?: string, status = 200) =>
    page(
      reply,
      deps.render('account/confirm.njk', {
        csrfToken: reply.generateCsrf(),
        ...turnOff(),
        action: '/account/2fa/disable',
        danger: true,
        keyProof: (await deps.twoFactor.status(userId)).keys.length > 0,
        error,
      }),
      status,
    );

  app.get('/account/2fa/disable', async (req, reply) => show(reply, req.accountUser!.id));

  app.post<{ Body: ConfirmBody }>('/account/2fa/disable', { preValidation: app.csrfProtection, schema: { body: confirmBody } }, async (req, reply) => {
    try {
      await deps.twoFactor.disable(req.accountUser!, req.body.password, proof(req.body), meta(req));
      return reply.redirect('/account?done=disabled', 303);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return show(reply, req.accountUser!.id, errorText(err), err.httpStatus);
    }
  });
}
