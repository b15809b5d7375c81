import type { FastifyInstance } from 'fastify';
import { meta, page, safeReturn, tokenQuery, type PublicDeps } from './deps.ts';
import { emailFieldError } from '../../field-errors.ts';

const body = { type: 'object', required: ['email'], properties: { _csrf: { type: 'string' }, email: { type: 'string', maxLength: 320 }, return: { type: 'string', maxLength: 200 } } } as const;

/** GET/POST /forgot-password: the same answer whether or not the address has an account. */
export default async function forgotPassword(app: FastifyInstance, deps: PublicDeps) {
  // ?email= pre-fills the address typed on the sign-in form (only shown back in the field, never acted on)
  const query = { type: 'object', properties: { ...tokenQuery.properties, email: { type: 'string', maxLength: 320 } } } as const;
  app.get<{ Querystring: { return?: string; email?: string } }>('/forgot-password', { schema: { querystring: query } }, async (req, reply) =>
    page(reply, deps.render('public/forgot-password.njk', { csrfToken: reply.generateCsrf(), returnTo: safeReturn(req.query.return), email: req.query.email ?? '' })),
  );

  app.post<{ Body: { email: string; return?: string } }>('/forgot-password', { preValidation: app.csrfProtection, schema: { body } }, async (req, reply) => {
    const returnTo = safeReturn(req.body.return);
    // an empty or malformed address is said beside the field (it could never have an account: no lookup, no mail)
    const emailError = emailFieldError(req.body.email);
    if (emailError) return page(reply, deps.render('public/forgot-password.njk', { csrfToken: reply.generateCsrf(), returnTo, email: req.body.email, fieldErrors: { email: emailError } }), 400);
    await deps.accounts.requestPasswordReset(req.body.email.trim(), meta(req));
    return page(reply, deps.render('public/check-email.njk', { email: req.body.email.trim(), purpose: 'reset', returnTo }));
  });
}
