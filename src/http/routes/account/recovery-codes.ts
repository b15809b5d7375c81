import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { codesText } from '../interaction/enroll.ts';
import { accountView } from './index.ts';
import { confirmBody, meta, page, proof, type AccountDeps, type ConfirmBody } from './deps.ts';
import { errorText } from '../../locale.ts';

/** POST /account/2fa/recovery-codes: new codes (password + second factor), shown once; /saved returns to the account. */
export default async function accountRecoveryCodes(app: FastifyInstance, deps: AccountDeps) {
  app.post<{ Body: ConfirmBody }>('/account/2fa/recovery-codes', { preValidation: app.csrfProtection, schema: { body: confirmBody } }, async (req, reply) => {
    const user = req.accountUser!;
    try {
      const codes = await deps.twoFactor.regenerateRecoveryCodes(user, req.body.password, proof(req.body), meta(req));
      return page(reply, deps.render('account/recovery-codes.njk', { csrfToken: reply.generateCsrf(), codes, codesText: codesText(codes), regenerated: true }));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const view = await accountView(deps, user.id, req.accountSessionId);
      return page(reply, deps.render('account/index.njk', { ...view, user, csrfToken: reply.generateCsrf(), codesError: errorText(err) }), err.httpStatus);
    }
  });

  app.post<{ Body: { saved?: string }; Querystring: { after?: 'regenerated' } }>(
    '/account/2fa/recovery-codes/saved',
    {
      preValidation: app.csrfProtection,
      schema: {
        body: { type: 'object', properties: { _csrf: { type: 'string' }, saved: { type: 'string', maxLength: 8 } } },
        querystring: { type: 'object', properties: { after: { type: 'string', enum: ['regenerated'] } } },
      },
    },
    async (req, reply) => reply.redirect(req.body.saved === 'yes' ? `/account?done=${req.query.after ?? 'enabled'}` : '/account', 303),
  );
}
