import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { codesText, enrollmentView } from '../interaction/enroll.ts';
import { accountView } from './index.ts';
import { confirmBody, meta, page, proof, type AccountDeps, type ConfirmBody } from './deps.ts';
import { errorText } from '../../locale.ts';

const activateBody = {
  type: 'object',
  required: ['credentialId', 'code'],
  properties: { _csrf: { type: 'string', maxLength: 256 }, credentialId: { type: 'string', maxLength: 64 }, code: { type: 'string', maxLength: 64 } },
} as const;

/** POST /account/2fa/enroll (confirm the password → QR code), POST /account/2fa/activate (code → on). */
export default async function accountEnroll(app: FastifyInstance, deps: AccountDeps) {
  const opts = { preValidation: app.csrfProtection };

  app.post<{ Body: ConfirmBody }>('/account/2fa/enroll', { ...opts, schema: { body: confirmBody } }, async (req, reply) => {
    const user = req.accountUser!;
    // the first authenticator needs the password; another one also needs a current factor (as removing one does)
    const refused = async (message: string) => {
      const view = await accountView(deps, user.id, req.accountSessionId);
      return page(reply, deps.render('account/index.njk', { ...view, user, csrfToken: reply.generateCsrf(), enrollError: message }), 403);
    };
    try {
      await deps.twoFactor.confirmToAdd(user, req.body.password, proof(req.body), meta(req));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return refused(errorText(err));
    }
    const pending = await deps.twoFactor.startEnrollment(user, req.body.name ?? '');
    return page(reply, deps.render('account/enroll.njk', { csrfToken: reply.generateCsrf(), enrollment: await enrollmentView(pending, user.email) }));
  });

  app.post<{ Body: { credentialId: string; code: string } }>('/account/2fa/activate', { ...opts, schema: { body: activateBody } }, async (req, reply) => {
    const user = req.accountUser!;
    try {
      const { recoveryCodes } = await deps.twoFactor.activate(user, req.body.credentialId, req.body.code, meta(req));
      if (!recoveryCodes) return reply.redirect('/account?done=added', 303);
      return page(reply, deps.render('account/recovery-codes.njk', { csrfToken: reply.generateCsrf(), codes: recoveryCodes, codesText: codesText(recoveryCodes) }));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const pending = await deps.twoFactor.pendingEnrollment(user, req.body.credentialId);
      if (!pending) return reply.redirect('/account', 303);
      return page(reply, deps.render('account/enroll.njk', { csrfToken: reply.generateCsrf(), enrollment: await enrollmentView(pending, user.email), error: errorText(err) }), 400);
    }
  });
}
