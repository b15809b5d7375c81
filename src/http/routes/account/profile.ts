import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { accountView } from './index.ts';
import { meta, page, type AccountDeps } from './deps.ts';
import { errorText } from '../../locale.ts';

const nameBody = { type: 'object', required: ['name'], properties: { _csrf: { type: 'string' }, name: { type: 'string', maxLength: 200 } } } as const;
const emailBody = { type: 'object', required: ['email', 'password'], properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: 320 }, password: { type: 'string', maxLength: 4096 } } } as const;
const passwordBody = { type: 'object', required: ['current', 'password'], properties: { _csrf: { type: 'string' }, current: { type: 'string', maxLength: 4096 }, password: { type: 'string', maxLength: 4096 } } } as const;

/** POST /account/name, /account/email (re-verified), /account/password (needs the current one). */
export default async function accountProfile(app: FastifyInstance, deps: AccountDeps) {
  const opts = { preValidation: app.csrfProtection };
  const fail = async (req: FastifyRequest, reply: FastifyReply, field: string, err: DomainError) => {
    const view = await accountView(deps, req.accountUser!.id, req.accountSessionId);
    return page(reply, deps.render('account/index.njk', { ...view, user: req.accountUser, csrfToken: reply.generateCsrf(), [field]: errorText(err) }), err.httpStatus);
  };

  app.post<{ Body: { name: string } }>('/account/name', { ...opts, schema: { body: nameBody } }, async (req, reply) => {
    await deps.accounts.changeName(req.accountUser!, req.body.name, meta(req));
    return reply.redirect('/account?done=name', 303);
  });

  app.post<{ Body: { email: string; password: string } }>('/account/email', { ...opts, schema: { body: emailBody } }, async (req, reply) => {
    try {
      await deps.accounts.requestEmailChange(req.accountUser!, req.body.password, req.body.email, meta(req));
      return reply.redirect('/account?done=email', 303);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return fail(req, reply, 'emailError', err);
    }
  });

  app.post<{ Body: { current: string; password: string } }>('/account/password', { ...opts, schema: { body: passwordBody } }, async (req, reply) => {
    try {
      await deps.accounts.changePassword(req.accountUser!, req.body.current, req.body.password, meta(req), req.accountSessionId ?? undefined);
      return reply.redirect('/account?done=password', 303);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return fail(req, reply, 'passwordError', err);
    }
  });

  // "Resend the link" beside an unverified address (throttled per account by the service)
  app.post('/account/email/resend-verification', { preValidation: app.csrfProtection, schema: { body: { type: 'object', properties: { _csrf: { type: 'string' } } } } }, async (req, reply) => {
    const result = await deps.accounts.resendVerification({ userId: req.accountUser!.id }, meta(req));
    return reply.redirect(`/account?done=${result === 'throttled' ? 'verification_throttled' : result === 'sent' ? 'verification_sent' : 'verified'}`, 303);
  });
}
