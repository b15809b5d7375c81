import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { invitationView, linkExpired, meta, page, tokenQuery, type PublicDeps } from './deps.ts';
import { errorText, translate } from '../../locale.ts';

const body = { type: 'object', required: ['token', 'password'], properties: { _csrf: { type: 'string' }, token: { type: 'string', maxLength: 200 }, password: { type: 'string', maxLength: 4096 }, name: { type: 'string', maxLength: 200 } } } as const;

/**
 * GET/POST /reset-password and /invite: choose a password from an emailed link. Neither signs anyone in: the user
 * then signs in normally, with their second factor if they have one.
 */
export default async function resetPassword(app: FastifyInstance, deps: PublicDeps) {
  for (const [path, purpose] of [['/reset-password', 'reset_password'], ['/invite', 'invite']] as const) {
    const invite = purpose === 'invite';
    const view = async (csrfToken: string, token: string, error?: string) =>
      deps.render('public/set-password.njk', { csrfToken, token, action: path, invite, error, title: invite ? translate('pages.acceptInvitation') : translate('pages.chooseNewPassword'), invitations: invite ? invitationView(await deps.invitation(token, 'invite')) : [] });

    app.get<{ Querystring: { token?: string } }>(path, { schema: { querystring: tokenQuery } }, async (req, reply) => {
      if (!(await deps.accounts.linkValid(req.query.token ?? '', purpose))) return linkExpired(reply, deps, req.query.token ?? '', purpose);
      return page(reply, await view(reply.generateCsrf(), req.query.token!));
    });

    app.post<{ Body: { token: string; password: string; name?: string } }>(path, { preValidation: app.csrfProtection, schema: { body } }, async (req, reply) => {
      try {
        if (invite) await deps.accounts.acceptInvite(req.body.token, req.body.password, req.body.name, meta(req));
        else await deps.accounts.resetPassword(req.body.token, req.body.password, meta(req));
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        if (err.code === 'link_invalid') return linkExpired(reply, deps, req.body.token, purpose);
        return page(reply, await view(reply.generateCsrf(), req.body.token, errorText(err)), err.httpStatus);
      }
      return page(
        reply,
        deps.render('public/done.njk', {
          title: invite ? translate('pages.welcome', { brand: deps.brandName }) : translate('pages.passwordChanged'),
          message: invite ? translate('pages.accountReady') : translate('pages.signedOutEverywhere'),
          link: '/account',
          linkText: translate('login.title'),
        }),
      );
    });
  }
}
