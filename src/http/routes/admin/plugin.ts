import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../../domain/errors.ts';
import { page, roleLabel, type AdminDeps } from './deps.ts';
import { administeredTenant, isAdminRole } from './rules.ts';
import { signInFor } from '../account/deps.ts';
import adminMembers from './members.ts';
import adminSettings from './settings.ts';
import adminMemberActions from './member-actions.ts';
import adminTokens from './tokens.ts';
import adminAudit from './audit.ts';
import { translate } from '../../locale.ts';

/**
 * /admin: the organization console for owners and admins. Every route checks, before anything else (even the CSRF
 * token and the body), that the signed-in user is an owner or admin of THAT organization; otherwise 404, the same
 * answer as for an organization that does not exist. Register it where formbody and CSRF protection are.
 */
export default async function adminPlugin(app: FastifyInstance, deps: AdminDeps) {
  app.decorateRequest('adminUser', null);
  app.decorateRequest('adminTenant', null);
  app.decorateRequest('adminRole', null);

  const notFound = (reply: Parameters<typeof page>[0]) =>
    page(reply, deps.render('errors/error.njk', { title: translate('pages.notFound'), message: translate('pages.nothingHere') }), 404);

  app.addHook('onRequest', async (req, reply) => {
    const session = await deps.readSession(req.raw, reply.raw);
    const user = session ? await deps.users.findById(session.accountId) : null;
    // a password-only session of someone whose organization now requires 2FA does not administer anything: signing
    // in again steps up (the login check demands the second factor, or enrollment first)
    if (!user || !(await deps.mfaPolicy.tokenAcceptable(user.id, undefined, session!.amr))) {
      if (req.method === 'GET' || req.method === 'HEAD') return reply.redirect(signInFor(req.url), 303);
      return page(reply, deps.render('errors/error.njk', { title: translate('pages.signedOut'), message: translate('pages.sessionEnded') }), 401);
    }
    req.adminUser = user;
    const slug = (req.params as { slug?: string }).slug;
    if (slug === undefined) return;
    try {
      const { tenant, role } = await administeredTenant(deps.tenants, slug, user.id);
      req.adminTenant = tenant;
      req.adminRole = role;
    } catch (err) {
      if (err instanceof NotFoundError) return notFound(reply);
      throw err;
    }
  });

  app.get('/admin', async (req, reply) => {
    const organizations = (await deps.tenants.listForUser(req.adminUser!.id)).filter((t) => isAdminRole(t.role)).map((t) => ({ ...t, roleLabel: roleLabel(t.role) }));
    return page(reply, deps.render('admin/index.njk', { user: req.adminUser, organizations }));
  });

  await app.register(adminMembers, deps);
  await app.register(adminMemberActions, deps);
  await app.register(adminSettings, deps);
  await app.register(adminAudit, deps);
  await app.register(adminTokens, deps);
}
