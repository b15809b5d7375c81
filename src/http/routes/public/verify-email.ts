import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { linkExpired, meta, page, tokenQuery, type PublicDeps } from './deps.ts';
import { errorText, translate } from '../../locale.ts';

const body = { type: 'object', required: ['token'], properties: { _csrf: { type: 'string' }, token: { type: 'string', maxLength: 200 } } } as const;

/**
 * GET/POST /verify-email and /verify-email-change: the link opens a page with one button, so that mail scanners
 * that fetch links do not use up the single-use token.
 */
export default async function verifyEmail(app: FastifyInstance, deps: PublicDeps) {
  // "Resend the link" from an expired link's page: the old token names the account (throttled per account)
  app.post<{ Body: { token: string } }>('/verify-email/resend', { preValidation: app.csrfProtection, schema: { body } }, async (req, reply) => {
    const result = await deps.accounts.resendVerification({ expiredToken: req.body.token }, meta(req));
    if (result === 'unknown') return linkExpired(reply, deps, req.body.token, 'verify_email');
    const answer = {
      sent: { title: translate('pages.checkEmail'), message: translate('pages.verifySent'), status: 200 },
      throttled: { title: translate('pages.linkOnItsWay'), message: translate('pages.sentMomentAgo'), status: 429 },
      already_verified: { title: translate('pages.alreadyConfirmed'), message: translate('linkExpired.alreadyConfirmed'), status: 200 },
    }[result];
    return page(reply, deps.render('public/done.njk', { title: answer.title, message: answer.message, link: '/account', linkText: translate('linkExpired.goToAccount') }), answer.status);
  });

  for (const [path, purpose] of [['/verify-email', 'verify_email'], ['/verify-email-change', 'change_email']] as const) {
    app.get<{ Querystring: { token?: string } }>(path, { schema: { querystring: tokenQuery } }, async (req, reply) => {
      const valid = await deps.accounts.linkValid(req.query.token ?? '', purpose);
      if (!valid) return linkExpired(reply, deps, req.query.token ?? '', purpose);
      return page(reply, deps.render('public/confirm-link.njk', { csrfToken: reply.generateCsrf(), token: req.query.token, action: path, title: translate('pages.confirmEmail'), button: translate('pages.confirm') }));
    });

    app.post<{ Body: { token: string } }>(path, { preValidation: app.csrfProtection, schema: { body } }, async (req, reply) => {
      try {
        if (purpose === 'verify_email') await deps.accounts.verifyEmail(req.body.token, meta(req));
        else await deps.accounts.confirmEmailChange(req.body.token, meta(req));
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        if (err.code === 'link_invalid') return linkExpired(reply, deps, req.body.token, purpose);
        return page(reply, deps.render('errors/error.njk', { title: translate('linkExpired.titleExpired'), message: errorText(err) }), err.httpStatus);
      }
      return page(reply, deps.render('public/done.njk', { title: translate('pages.emailConfirmed'), message: translate('pages.canSignIn'), link: '/account', linkText: translate('linkExpired.goToAccount') }));
    });
  }
}
