import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { codesText } from '../interaction/enroll.ts';
import { accountView } from './index.ts';
import { confirmBody, meta, page, proof, type AccountDeps, type ConfirmBody } from './deps.ts';
import { errorText, translate } from '../../locale.ts';

const responseBody = {
  type: 'object',
  required: ['response'],
  properties: { _csrf: { type: 'string', maxLength: 256 }, response: { type: 'string', minLength: 2, maxLength: 32768 }, name: { type: 'string', maxLength: 200 } },
} as const;
const csrfBody = { type: 'object', properties: { _csrf: { type: 'string', maxLength: 256 } } } as const;

/**
 * /account/security-keys: add a security key or passkey. POST …/new (password, and a current second factor once 2FA
 * is on) shows the page that creates the key; the browser posts the registration to …/register (JSON: the challenge
 * the new key must sign) and the key's first signature to …/activate. POST …/challenge: a key challenge for the
 * confirmation forms of the account pages (password + security key instead of a code).
 */
export default async function accountSecurityKeys(app: FastifyInstance, deps: AccountDeps) {
  const opts = { preValidation: app.csrfProtection };
  const json = (reply: FastifyReply, status: number, body: Record<string, unknown>) => reply.status(status).header('cache-control', 'no-store').send(body);
  const refused = async (req: FastifyRequest, reply: FastifyReply, err: DomainError) => {
    const view = await accountView(deps, req.accountUser!.id, req.accountSessionId);
    return page(reply, deps.render('account/index.njk', { ...view, user: req.accountUser, csrfToken: reply.generateCsrf(), keyError: errorText(err) }), err.httpStatus);
  };

  app.post<{ Body: ConfirmBody }>('/account/security-keys/new', { ...opts, schema: { body: confirmBody } }, async (req, reply) => {
    const name = (req.body.name ?? '').trim() || translate('account.securityKey');
    try {
      const options = await deps.securityKeys.startAdd(req.accountUser!, req.body.password, proof(req.body), name, meta(req));
      return page(reply, deps.render('account/security-key-add.njk', { csrfToken: reply.generateCsrf(), options: JSON.stringify(options), keyName: name }));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return refused(req, reply, err);
    }
  });

  app.post<{ Body: { response: string } }>('/account/security-keys/register', { ...opts, schema: { body: responseBody } }, async (req, reply) => {
    try {
      return json(reply, 200, { options: await deps.securityKeys.register(req.accountUser!, req.accountSessionId!, req.body.response) });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return json(reply, err.httpStatus, { error: err.code, message: errorText(err) });
    }
  });

  app.post<{ Body: { response: string } }>('/account/security-keys/activate', { ...opts, schema: { body: responseBody } }, async (req, reply) => {
    try {
      const { recoveryCodes } = await deps.securityKeys.activate(req.accountUser!, req.accountSessionId!, req.body.response, meta(req));
      if (!recoveryCodes) return reply.redirect('/account?done=key_added', 303);
      // the first factor of the account: two-factor authentication is on, with recovery codes shown once
      return page(reply, deps.render('account/recovery-codes.njk', { csrfToken: reply.generateCsrf(), codes: recoveryCodes, codesText: codesText(recoveryCodes) }));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return refused(req, reply, err);
    }
  });

  app.post('/account/security-keys/challenge', { ...opts, schema: { body: csrfBody } }, async (req, reply) => {
    const options = await deps.twoFactor.confirmationOptions(req.accountUser!, req.accountSessionId!);
    if (!options) return json(reply, 404, { error: 'no_security_key', message: translate('pages.noKey') });
    return json(reply, 200, { options });
  });
}
