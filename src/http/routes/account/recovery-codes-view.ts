import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { codesText } from '../interaction/enroll.ts';
import { accountView } from './index.ts';
import { confirmBody, meta, page, proof, type AccountDeps, type ConfirmBody } from './deps.ts';
import { errorText, translate } from '../../locale.ts';

/**
 * POST /account/2fa/recovery-codes/view: the unused recovery codes again, after the password and a second factor
 * (audited and mailed). 404 when the server keeps only their hashes (GATEHOUSE_RECOVERY_CODES_VIEWABLE=false).
 */
export default async function accountRecoveryCodesView(app: FastifyInstance, deps: AccountDeps) {
  app.post<{ Body: ConfirmBody }>('/account/2fa/recovery-codes/view', { preValidation: app.csrfProtection, schema: { body: confirmBody } }, async (req, reply) => {
    const user = req.accountUser!;
    try {
      const { codes, hidden } = await deps.twoFactor.viewRecoveryCodes(user, req.body.password, proof(req.body), meta(req));
      return page(reply, deps.render('account/recovery-codes-view.njk', { codes, hidden, codesText: codesText(codes) }));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      if (err.httpStatus === 404) return page(reply, deps.render('errors/error.njk', { title: translate('pages.notAvailable'), message: errorText(err) }), 404);
      const view = await accountView(deps, user.id, req.accountSessionId);
      return page(reply, deps.render('account/index.njk', { ...view, user, csrfToken: reply.generateCsrf(), viewCodesError: errorText(err) }), err.httpStatus);
    }
  });
}
