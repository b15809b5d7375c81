import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TenantRole } from '../../../db/database.ts';
import { DomainError } from '../../../domain/errors.ts';
import { ROLES } from '../../../domain/tenants/tenant.service.ts';
import { memberRow, page, roleLabel, when, type AdminDeps } from './deps.ts';
import { assertMayChangeRole, assertMayInvite, grantableRoles, memberOf, meta, SLUG_PATTERN, UUID_PATTERN } from './rules.ts';
import { doneMessage, errorText } from '../../locale.ts';

export const slugParams = { type: 'object', required: ['slug'], properties: { slug: { type: 'string', pattern: SLUG_PATTERN } } } as const;
export const memberParams = {
  type: 'object',
  required: ['slug', 'userId'],
  properties: { slug: { type: 'string', pattern: SLUG_PATTERN }, userId: { type: 'string', pattern: UUID_PATTERN } },
} as const;

const inviteBody = {
  type: 'object',
  required: ['email', 'role'],
  properties: { _csrf: { type: 'string', maxLength: 256 }, email: { type: 'string', maxLength: 320 }, role: { type: 'string', enum: ROLES } },
} as const;
const roleBody = { type: 'object', required: ['role'], properties: { _csrf: { type: 'string', maxLength: 256 }, role: { type: 'string', enum: ROLES } } } as const;

/** the members page: who is in the organization, their role, last sign-in, 2FA state and coverage */
export async function membersView(deps: AdminDeps, req: FastifyRequest) {
  const tenant = req.adminTenant!;
  const actor = { id: req.adminUser!.id, role: req.adminRole! };
  const { members, coverage } = await deps.tenants.members(tenant);
  const beyond = await deps.tenants.resetNeedsOthers(tenant, actor.id, members.filter((m) => m.factors.length).map((m) => m.userId));
  return {
    tenant,
    section: 'members',
    enforceFrom: when(tenant.enforceFrom),
    members: members.map((m) => memberRow(m, actor, beyond.has(m.userId))),
    // invitees are listed (with an "Invited" badge) but are not members until they accept
    joined: members.filter((m) => !m.invitationPending).length,
    invitedCount: members.filter((m) => m.invitationPending).length,
    coverage: { ...coverage, percent: coverage.total ? Math.round((coverage.enrolled / coverage.total) * 100) : 0 },
    inviteRoles: grantableRoles(actor.role).map((r) => ({ value: r, label: roleLabel(r) })),
  };
}

export default async function adminMembers(app: FastifyInstance, deps: AdminDeps) {
  const show = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) =>
    page(reply, deps.render('admin/members.njk', { ...(await membersView(deps, req)), user: req.adminUser, csrfToken: reply.generateCsrf(), ...extra }), status);

  app.get<{ Params: { slug: string }; Querystring: { done?: string } }>(
    '/admin/:slug',
    { schema: { params: slugParams, querystring: { type: 'object', properties: { done: { type: 'string', maxLength: 32 } } } } },
    async (req, reply) => show(req, reply, { flash: doneMessage('console', req.query.done) }),
  );

  app.post<{ Params: { slug: string }; Body: { email: string; role: TenantRole } }>(
    '/admin/:slug/members',
    { preValidation: app.csrfProtection, schema: { params: slugParams, body: inviteBody } },
    async (req, reply) => {
      const tenant = req.adminTenant!;
      const email = req.body.email.trim();
      try {
        assertMayInvite(req.adminRole!, req.body.role);
        if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new DomainError('invalid_email', 'Enter a valid email address.');
        // one answer whether or not the address has an account: an admin's addition is always an invitation
        const added = await deps.tenants.addMember(tenant, email, req.body.role, req.adminUser!.id, meta(req));
        return reply.redirect(`/admin/${tenant.slug}?done=${added.resent ? 'reinvited' : 'invited'}`, 303);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        // beside the field it is about: a role this admin may not give, or the address
        const field = err.code === 'forbidden' || err.code === 'invalid_role' ? 'role' : 'email';
        return show(req, reply, { inviteErrors: { [field]: errorText(err) }, inviteEmail: email, inviteRole: req.body.role }, err.httpStatus);
      }
    },
  );

  app.post<{ Params: { slug: string; userId: string }; Body: { role: TenantRole } }>(
    '/admin/:slug/members/:userId/role',
    { preValidation: app.csrfProtection, schema: { params: memberParams, body: roleBody } },
    async (req, reply) => {
      const tenant = req.adminTenant!;
      const member = await memberOf(deps.tenants, tenant, req.params.userId); // 404 for anyone not in this tenant
      try {
        assertMayChangeRole(req.adminRole!, member, req.body.role);
        if (member.role !== req.body.role) await deps.tenants.setRole(tenant, member.userId, req.body.role, req.adminUser!.id, meta(req));
        // demoting oneself ends one's access to this console
        if (member.userId === req.adminUser!.id && req.body.role === 'member') return reply.redirect('/admin', 303);
        return reply.redirect(`/admin/${tenant.slug}?done=role`, 303);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return show(req, reply, { error: `${member.name || member.email}: ${errorText(err)}` }, err.httpStatus);
      }
    },
  );
}
