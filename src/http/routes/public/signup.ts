import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { checkPassword } from '../../../domain/users/password-policy.ts';
import { meta, page, safeReturn, tokenQuery, type PublicDeps } from './deps.ts';
import { errorText, translate } from '../../locale.ts';

const body = {
  type: 'object',
  required: ['email', 'password'],
  properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: 320 }, name: { type: 'string', maxLength: 200 }, password: { type: 'string', maxLength: 4096 }, return: { type: 'string', maxLength: 200 } },
} as const;

/**
 * The form's errors, every one at once beside its field: the domain stops at the first (the address), so a refused
 * address has the password checked too. An error that is no field's (sign-up turned off) stands above the form.
 */
function signupErrors(err: DomainError, body: { email: string; name?: string; password: string }): { fieldErrors: Record<string, string>; error?: string } {
  if (err.code === 'invalid_email') {
    const fieldErrors: Record<string, string> = { email: errorText(err) };
    try {
      checkPassword(body.password, { email: body.email, name: body.name });
    } catch (pw) {
      if (pw instanceof DomainError) fieldErrors.password = errorText(pw);
    }
    return { fieldErrors };
  }
  return err.code.startsWith('password_') ? { fieldErrors: { password: errorText(err) } } : { fieldErrors: {}, error: errorText(err) };
}

/** GET/POST /signup: create an account; the answer never says whether the address already had one. */
export default async function signup(app: FastifyInstance, deps: PublicDeps) {
  app.get<{ Querystring: { return?: string } }>('/signup', { schema: { querystring: tokenQuery } }, async (req, reply) => {
    if (!deps.accounts.signupEnabled) return page(reply, deps.render('errors/error.njk', { title: translate('pages.signupClosed'), message: translate('pages.askInvitation') }), 403);
    return page(reply, deps.render('public/signup.njk', { csrfToken: reply.generateCsrf(), returnTo: safeReturn(req.query.return) }));
  });

  app.post<{ Body: { email: string; name?: string; password: string; return?: string } }>('/signup', { preValidation: app.csrfProtection, schema: { body } }, async (req, reply) => {
    const returnTo = safeReturn(req.body.return);
    try {
      await deps.accounts.signUp({ email: req.body.email, name: req.body.name ?? '', password: req.body.password }, meta(req));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const html = deps.render('public/signup.njk', { csrfToken: reply.generateCsrf(), returnTo, email: req.body.email, name: req.body.name, ...signupErrors(err, req.body) });
      return page(reply, html, err.httpStatus);
    }
    return page(reply, deps.render('public/check-email.njk', { email: req.body.email, purpose: 'signup', returnTo }));
  });
}
