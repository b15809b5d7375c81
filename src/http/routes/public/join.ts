import type { FastifyInstance } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { invitationView, linkExpired, meta, page, tokenQuery, type PublicDeps } from './deps.ts';
import { errorText, translate } from '../../locale.ts';

const body = { type: 'object', required: ['token'], properties: { _csrf: { type: 'string' }, token: { type: 'string', maxLength: 200 } } } as const;

/** GET/POST /join: an existing user accepts an organization's invitation (a page with one button, then the POST). */
export default async function join(app: FastifyInstance, deps: PublicDeps) {
  app.get<{ Querystring: { token?: string } }>('/join', { schema: { querystring: tokenQuery } }, async (req, reply) => {
    if (!(await deps.accounts.linkValid(req.query.token ?? '', 'join_tenant'))) return linkExpired(reply, deps, req.query.token ?? '', 'join_tenant');
    const invitations = invitationView(await deps.invitation(req.query.token!, 'join_tenant'));
    const name = invitations[0]?.organization;
    return page(reply, deps.render('public/confirm-link.njk', { csrfToken: reply.generateCsrf(), token: req.query.token, action: '/join', title: name ? translate('pages.joinOrg', { org: name }) : translate('pages.joinTheOrg'), button: name ? translate('pages.joinOrg', { org: name }) : translate('pages.acceptTheInvitation'), invitations }));
  });

  app.post<{ Body: { token: string } }>('/join', { preValidation: app.csrfProtection, schema: { body } }, async (req, reply) => {
    try {
      await deps.accounts.joinTenant(req.body.token, meta(req));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      if (err.code === 'link_invalid') return linkExpired(reply, deps, req.body.token, 'join_tenant');
      return page(reply, deps.render('errors/error.njk', { title: translate('linkExpired.titleExpired'), message: errorText(err) }), err.httpStatus);
    }
    return page(reply, deps.render('public/done.njk', { title: translate('pages.joined'), message: translate('pages.rulesApply'), link: '/account', linkText: translate('linkExpired.goToAccount') }));
  });
}
