import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { page, when, type AdminDeps } from './deps.ts';
import { meta, SLUG_PATTERN, UUID_PATTERN } from './rules.ts';

import { slugParams } from './members.ts';
import { doneMessage, errorText } from '../../locale.ts';
const tokenParams = { type: 'object', required: ['slug', 'id'], properties: { slug: { type: 'string', pattern: SLUG_PATTERN }, id: { type: 'string', pattern: UUID_PATTERN } } } as const;
const policyBody = {
  type: 'object',
  properties: { _csrf: { type: 'string', maxLength: 256 }, maxDays: { type: 'string', maxLength: 6 }, shorten: { type: 'string', maxLength: 4 } },
} as const;

/**
 * /admin/:slug/tokens: the members' personal access tokens bound to this organization (name, owner, scopes, expiry;
 * revocable by its admins) and the organization's maximum token lifetime.
 */
export default async function adminTokens(app: FastifyInstance, deps: AdminDeps) {
  const show = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const tenant = req.adminTenant!;
    const [tokens, policy] = await Promise.all([deps.personalTokens.listForTenant(tenant.id), deps.tokenPolicy.get(tenant.id)]);
    return page(
      reply,
      deps.render('admin/tokens.njk', {
        tenant,
        user: req.adminUser,
        section: 'tokens',
        csrfToken: reply.generateCsrf(),
        tokens: tokens.map((t) => ({ ...t, created: when(t.createdAt), expires: when(t.expiresAt), lastUsed: when(t.lastUsedAt), ownerLabel: t.owner?.name || t.owner?.email })),
        maxDays: policy.maxDays,
        deploymentMaxDays: deps.tokenPolicy.deploymentMaxDays,
        ...extra,
      }),
      status,
    );
  };

  app.get<{ Params: { slug: string }; Querystring: { done?: string } }>(
    '/admin/:slug/tokens',
    { schema: { params: slugParams, querystring: { type: 'object', properties: { done: { type: 'string', maxLength: 16 } } } } },
    async (req, reply) => show(req, reply, { flash: doneMessage('orgTokens', req.query.done) }),
  );

  app.post<{ Params: { slug: string }; Body: { maxDays?: string; shorten?: string } }>(
    '/admin/:slug/tokens/policy',
    { preValidation: app.csrfProtection, schema: { params: slugParams, body: policyBody } },
    async (req, reply) => {
      const raw = (req.body.maxDays ?? '').trim();
      const maxDays = raw === '' ? null : Number(raw);
      try {
        await deps.tokenPolicy.set(req.adminTenant!.id, maxDays === null || Number.isFinite(maxDays) ? maxDays : NaN, req.body.shorten === 'yes', req.adminUser!.id, meta(req));
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return show(req, reply, { error: errorText(err) }, err.httpStatus);
      }
      return reply.redirect(`/admin/${req.adminTenant!.slug}/tokens?done=saved`, 303);
    },
  );

  app.post<{ Params: { slug: string; id: string } }>(
    '/admin/:slug/tokens/:id/revoke',
    { preValidation: app.csrfProtection, schema: { params: tokenParams, body: { type: 'object', properties: { _csrf: { type: 'string', maxLength: 256 } } } } },
    async (req, reply) => {
      await deps.personalTokens.revoke(req.adminUser!, req.params.id, { tenantId: req.adminTenant!.id }, meta(req));
      return reply.redirect(`/admin/${req.adminTenant!.slug}/tokens?done=revoked`, 303);
    },
  );
}
