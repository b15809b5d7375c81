import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { meta, page, tokenQuery, type PublicDeps } from './deps.ts';

const body = { type: 'object', required: ['token'], properties: { _csrf: { type: 'string' }, token: { type: 'string', maxLength: 200 } } } as const;

/**
 * GET/POST /verify-email and /verify-email-change: the link opens a page with one button, so that mail scanners
 * that fetch links do not use up the single-use token.
 */
export default async function verifyEmail(app: FastifyInstance, deps: PublicDeps) {
  for (const [path, purpose] of [['/verify-email', 'verify_email'], ['/verify-email-change', 'change_email']] as const) {
    app.get<{ Querystring: { token?: string } }>(path, { schema: { querystring: tokenQuery } }, async (req, reply) => {
      const valid = await deps.accounts.linkValid(req.query.token ?? '', purpose);
      if (!valid) return page(reply, deps.render('errors/error.njk', { title: 'Link expired', message: 'This link has expired or was already used. Ask for a new one.' }), 400);
      return page(reply, deps.render('public/confirm-link.njk', { csrfToken: reply.generateCsrf(), token: req.query.token, action: path, title: 'Confirm your email address', button: 'Confirm' }));
    });

    app.post<{ Body: { token: string } }>(path, { preValidation: app.csrfProtection, schema: { body } }, async (req, reply) => {
      try {
        if (purpose === 'verify_email') await deps.accounts.verifyEmail(req.body.token, meta(req));
        else await deps.accounts.confirmEmailChange(req.body.token, meta(req));
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return page(reply, deps.render('errors/error.njk', { title: 'Link expired', message: err.message }), err.httpStatus);
      }
      return page(reply, deps.render('public/done.njk', { title: 'Email address confirmed', message: 'Thank you. You can now sign in.', link: '/account', linkText: 'Go to your account' }));
    });
  }
}
