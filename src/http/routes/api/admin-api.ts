// The JSON admin API: the admin console's operations for programs, at /api/v1. Authenticated with an access token
// Gatehouse issued (scope `admin`); the token's user must be an owner or admin of the tenant in the URL.
import { bearerToken } from '../../bearer.ts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TenantRole } from '../../../db/database.ts';
import { DomainError, ValidationError } from '../../../domain/errors.ts';
import { type Member, type Tenant, type TenantService } from '../../../domain/tenants/tenant.service.ts';
import type { User, UserService } from '../../../domain/users/user.service.ts';
import type { TokenVerifier } from '../../../oidc/token-verifier.ts';
import { tenantAudit } from '../admin/audit.ts';
import {
  administeredTenant,
  assertMayChangeRole,
  assertMayInvite,
  assertMayRemove,
  assertMayReset,
  changedDate,
  isAdminRole,
  memberOf,
  meta,
  signInMethod,
} from '../admin/rules.ts';
import { adminTokenRoutes, type AdminTokensApiDeps } from './admin-tokens-api.ts';
import { openApiDocument } from './openapi.ts';
import { auditQuery, inviteBody, memberParams, policyBody, resetBody, roleBody, slugParams } from './schemas.ts';

export const ADMIN_SCOPE = 'admin';

export interface AdminApiDeps extends AdminTokensApiDeps {
  verifyToken: TokenVerifier;
  tenants: TenantService;
  users: UserService;
  /** the issuer: the OpenAPI document's server URL */
  issuer: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiUser: User | null;
    apiClientId: string | null;
    apiTenant: Tenant | null;
    apiRole: 'owner' | 'admin' | null;
  }
}

const REALM = 'Bearer realm="gatehouse"';

function apiError(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.status(status).header('cache-control', 'no-store').send({ error, message });
}

/** the API's view of a member */
export function memberJson(m: Member) {
  return {
    id: m.userId,
    email: m.email,
    name: m.name,
    role: m.role,
    lastSignInAt: m.lastSignInAt?.toISOString() ?? null,
    /** a stable code (SIGN_IN_METHODS), and the sign-in's amr values (RFC 8176) it was read from */
    lastSignInMethod: signInMethod(m.lastSignInAmr),
    lastSignInAmr: m.lastSignInAmr?.length ? m.lastSignInAmr : null,
    twoFactor: { enrolled: m.twoFactor, state: m.state, deadline: m.deadline?.toISOString() ?? null },
  };
}

const policyJson = (t: Tenant) => ({ require2fa: t.require2fa, enforceFrom: t.enforceFrom?.toISOString() ?? null, allowedMethods: t.allowedMethods });

export default async function adminApi(app: FastifyInstance, deps: AdminApiDeps) {
  // JSON errors with stable codes everywhere under /api/v1; bad input is a 4xx, never a 500
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof DomainError) return apiError(reply, err.httpStatus, err.code, err.message);
    if (err.validation) return apiError(reply, 400, 'invalid_request', err.message);
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      const code = err.statusCode === 413 ? 'payload_too_large' : err.statusCode === 415 ? 'unsupported_media_type' : 'invalid_request';
      return apiError(reply, err.statusCode, code, err.message);
    }
    throw err; // the application's handler: logged, 500/503 without details
  });
  // JSON only: a text/plain body is refused (415) rather than parsed and then failed
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((_req, reply) => apiError(reply, 404, 'not_found', 'There is nothing at this address.'));

  app.get('/openapi.json', async (_req, reply) => reply.header('cache-control', 'public, max-age=300').send(openApiDocument(deps.issuer)));

  await app.register(async (api) => {
    api.decorateRequest('apiUser', null);
    api.decorateRequest('apiClientId', null);
    api.decorateRequest('apiTenant', null);
    api.decorateRequest('apiRole', null);

    // authentication and tenant authorization come first: before the body is parsed or validated
    api.addHook('onRequest', async (req, reply) => {
      reply.header('cache-control', 'no-store');
      const presented = bearerToken(req.headers.authorization);
      if (!presented) {
        reply.header('www-authenticate', REALM);
        return apiError(reply, 401, 'unauthorized', 'Send an access token: Authorization: Bearer <token>.');
      }
      const token = await deps.verifyToken(presented);
      const user = token ? await deps.users.findById(token.accountId) : null;
      if (!token || !user) {
        reply.header('www-authenticate', `${REALM}, error="invalid_token", error_description="The access token is invalid or expired."`);
        return apiError(reply, 401, 'invalid_token', 'The access token is invalid or expired.');
      }
      if (!token.scopes.has(ADMIN_SCOPE)) {
        reply.header('www-authenticate', `${REALM}, error="insufficient_scope", scope="${ADMIN_SCOPE}"`);
        return apiError(reply, 403, 'insufficient_scope', `The access token lacks the "${ADMIN_SCOPE}" scope.`);
      }
      req.apiUser = user;
      req.apiClientId = token.clientId;
      const slug = (req.params as { slug?: string }).slug;
      if (slug === undefined) return;
      try {
        const { tenant, role } = await administeredTenant(deps.tenants, slug, user.id);
        req.apiTenant = tenant;
        req.apiRole = role;
      } catch (err) {
        if (err instanceof DomainError) return apiError(reply, err.httpStatus, err.code, err.message);
        throw err;
      }
    });

    const actor = (req: FastifyRequest) => ({ id: req.apiUser!.id, role: req.apiRole! });
    adminTokenRoutes(api, deps);

    api.get('/tenants', async (req) => ({
      tenants: (await deps.tenants.listForUser(req.apiUser!.id)).filter((t) => isAdminRole(t.role)).map((t) => ({ slug: t.slug, name: t.name, role: t.role, require2fa: t.requires_2fa })),
    }));

    api.get<{ Params: { slug: string } }>('/tenants/:slug/members', { schema: { params: slugParams } }, async (req) => {
      const { members, coverage } = await deps.tenants.members(req.apiTenant!);
      return { tenant: { slug: req.apiTenant!.slug, name: req.apiTenant!.name }, coverage, members: members.map(memberJson) };
    });

    api.post<{ Params: { slug: string }; Body: { email: string; role: TenantRole } }>(
      '/tenants/:slug/members',
      { schema: { params: slugParams, body: inviteBody } },
      async (req, reply) => {
        assertMayInvite(req.apiRole!, req.body.role);
        const { userId, invited } = await deps.tenants.addMember(req.apiTenant!, req.body.email.trim(), req.body.role, req.apiUser!.id, meta(req));
        const member = await memberOf(deps.tenants, req.apiTenant!, userId);
        return reply.status(201).header('location', `/api/v1/tenants/${req.apiTenant!.slug}/members/${userId}`).send({ ...memberJson(member), invited });
      },
    );

    api.get<{ Params: { slug: string; userId: string } }>('/tenants/:slug/members/:userId', { schema: { params: memberParams } }, async (req) =>
      memberJson(await memberOf(deps.tenants, req.apiTenant!, req.params.userId)),
    );

    api.patch<{ Params: { slug: string; userId: string }; Body: { role: TenantRole } }>(
      '/tenants/:slug/members/:userId',
      { schema: { params: memberParams, body: roleBody } },
      async (req) => {
        const member = await memberOf(deps.tenants, req.apiTenant!, req.params.userId);
        assertMayChangeRole(req.apiRole!, member, req.body.role);
        if (member.role !== req.body.role) await deps.tenants.setRole(req.apiTenant!, member.userId, req.body.role, req.apiUser!.id, meta(req));
        return memberJson(await memberOf(deps.tenants, req.apiTenant!, member.userId));
      },
    );

    api.delete<{ Params: { slug: string; userId: string } }>('/tenants/:slug/members/:userId', { schema: { params: memberParams } }, async (req, reply) => {
      const member = await memberOf(deps.tenants, req.apiTenant!, req.params.userId);
      assertMayRemove(req.apiRole!, member);
      await deps.tenants.removeMember(req.apiTenant!, member.userId, req.apiUser!.id, meta(req));
      return reply.status(204).send();
    });

    api.post<{ Params: { slug: string; userId: string }; Body: { reason: string; code: string } }>(
      '/tenants/:slug/members/:userId/reset-2fa',
      { schema: { params: memberParams, body: resetBody } },
      async (req, reply) => {
        const member = await memberOf(deps.tenants, req.apiTenant!, req.params.userId);
        await assertMayReset(deps.tenants, req.apiTenant!, actor(req), member);
        await deps.tenants.resetMemberTwoFactor(req.apiTenant!, req.apiUser!, member.userId, req.body.code, req.body.reason, meta(req));
        return reply.status(204).send();
      },
    );

    api.get<{ Params: { slug: string } }>('/tenants/:slug/policy', { schema: { params: slugParams } }, async (req) => policyJson(req.apiTenant!));

    api.put<{ Params: { slug: string }; Body: { require2fa: boolean; enforceFrom?: string | null; allowedMethods?: string[] } }>(
      '/tenants/:slug/policy',
      { schema: { params: slugParams, body: policyBody } },
      async (req) => {
        const tenant = req.apiTenant!;
        const raw = req.body.enforceFrom ?? null;
        const date = raw === null ? null : new Date(raw);
        if (date && Number.isNaN(date.getTime())) throw new ValidationError('invalid_date', 'enforceFrom must be an RFC 3339 date-time or null.');
        const enforceFrom = req.body.require2fa ? date : null;
        const updated = await deps.tenants.updatePolicy(
          tenant,
          { require2fa: req.body.require2fa, enforceFrom: changedDate(tenant.enforceFrom, enforceFrom), allowedMethods: req.body.allowedMethods },
          req.apiUser!.id,
          meta(req),
        );
        return policyJson(updated);
      },
    );

    /** the preview the console shows before turning the requirement on */
    api.get<{ Params: { slug: string } }>('/tenants/:slug/policy/would-be-blocked', { schema: { params: slugParams } }, async (req) => ({
      members: (await deps.tenants.wouldBeBlocked(req.apiTenant!)).map(memberJson),
    }));

    api.get<{ Params: { slug: string }; Querystring: { event?: string; member?: string; limit?: number } }>(
      '/tenants/:slug/audit',
      { schema: { params: slugParams, querystring: auditQuery } },
      async (req) => {
        const rows = await tenantAudit(deps.tenants, req.apiTenant!, req.query);
        return {
          events: rows.map((r) => ({ id: String(r.id), at: r.at.toISOString(), event: r.event, actor: r.actor_email, target: r.target_email, ip: r.ip, data: r.data })),
        };
      },
    );
  });
}
