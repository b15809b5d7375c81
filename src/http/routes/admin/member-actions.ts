import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import type { Member } from '../../../domain/tenants/tenant.service.ts';
import { page, roleLabel, type AdminDeps } from './deps.ts';
import { memberParams } from './members.ts';
import { assertMayRemove, assertMayReset, memberOf, meta } from './rules.ts';
import { errorText, translate } from '../../locale.ts';

type Params = { slug: string; userId: string };
const csrfBody = { type: 'object', properties: { _csrf: { type: 'string', maxLength: 256 } } } as const;
const resetBody = {
  type: 'object',
  required: ['reason', 'code'],
  properties: { _csrf: { type: 'string', maxLength: 256 }, reason: { type: 'string', maxLength: 500 }, code: { type: 'string', maxLength: 64 } },
} as const;

/** /admin/:slug/members/:userId/remove and /reset: a confirmation page each, then the POST. */
export default async function adminMemberActions(app: FastifyInstance, deps: AdminDeps) {
  const view = (req: FastifyRequest, member: Member) => ({
    tenant: req.adminTenant,
    user: req.adminUser,
    section: 'members',
    member: { ...member, label: member.name || member.email, roleLabel: roleLabel(member.role) },
  });

  // remove
  const showRemove = (req: FastifyRequest, reply: FastifyReply, member: Member, error?: string, status = 200) =>
    page(reply, deps.render('admin/remove.njk', { ...view(req, member), csrfToken: reply.generateCsrf(), error }), status);

  app.get<{ Params: Params }>('/admin/:slug/members/:userId/remove', { schema: { params: memberParams } }, async (req, reply) => {
    const member = await memberOf(deps.tenants, req.adminTenant!, req.params.userId);
    return showRemove(req, reply, member);
  });

  app.post<{ Params: Params }>('/admin/:slug/members/:userId/remove', { preValidation: app.csrfProtection, schema: { params: memberParams, body: csrfBody } }, async (req, reply) => {
    const tenant = req.adminTenant!;
    const member = await memberOf(deps.tenants, tenant, req.params.userId);
    try {
      assertMayRemove(req.adminRole!, member);
      await deps.tenants.removeMember(tenant, member.userId, req.adminUser!.id, meta(req));
      return reply.redirect(member.userId === req.adminUser!.id ? '/admin' : `/admin/${tenant.slug}?done=removed`, 303);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return showRemove(req, reply, member, errorText(err), err.httpStatus);
    }
  });

  // reset 2FA (lost phone): a reason and the admin's own second factor
  const showReset = async (req: FastifyRequest, reply: FastifyReply, member: Member, extra: Record<string, unknown> = {}, status = 200) => {
    const own = await deps.twoFactor.status(req.adminUser!.id);
    return page(
      reply,
      deps.render('admin/reset.njk', { ...view(req, member), csrfToken: reply.generateCsrf(), adminHasTwoFactor: own.enabled, requires2fa: req.adminTenant!.require2fa, ...extra }),
      status,
    );
  };

  app.get<{ Params: Params }>('/admin/:slug/members/:userId/reset', { schema: { params: memberParams } }, async (req, reply) => {
    const member = await memberOf(deps.tenants, req.adminTenant!, req.params.userId);
    let refused: string | undefined;
    try {
      await assertMayReset(deps.tenants, req.adminTenant!, { id: req.adminUser!.id, role: req.adminRole! }, member);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      refused = errorText(err);
    }
    return showReset(req, reply, member, { refused });
  });

  app.post<{ Params: Params; Body: { reason: string; code: string } }>(
    '/admin/:slug/members/:userId/reset',
    { preValidation: app.csrfProtection, schema: { params: memberParams, body: resetBody } },
    async (req, reply) => {
      const tenant = req.adminTenant!;
      const member = await memberOf(deps.tenants, tenant, req.params.userId);
      // every field's error at once, beside its field, before anything is checked against the account
      const fieldErrors = {
        reason: req.body.reason.trim() ? undefined : translate('errors.reason_required'),
        code: req.body.code.trim() ? undefined : translate('pages.ownCodeNeeded'),
      };
      if (fieldErrors.reason || fieldErrors.code) return showReset(req, reply, member, { fieldErrors, reason: req.body.reason }, 400);
      try {
        await assertMayReset(deps.tenants, tenant, { id: req.adminUser!.id, role: req.adminRole! }, member);
        await deps.tenants.resetMemberTwoFactor(tenant, req.adminUser!, member.userId, req.body.code, req.body.reason, meta(req));
        return reply.redirect(`/admin/${tenant.slug}?done=reset`, 303);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        // a wrong code belongs to the code field; anything else (not allowed, pending) to the page
        const extra = err.code === 'second_factor_invalid' ? { fieldErrors: { code: errorText(err) } } : err.code === 'reason_required' ? { fieldErrors: { reason: errorText(err) } } : { error: errorText(err) };
        return showReset(req, reply, member, { ...extra, reason: req.body.reason }, err.httpStatus);
      }
    },
  );
}
