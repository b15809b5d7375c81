// The admin API's part for personal access tokens: an organization's members' tokens bound to it, revoking one, and
// the organization's maximum token lifetime. Registered inside the admin API's authenticated context.
import type { FastifyInstance } from 'fastify';
import type { PersonalToken, PersonalTokenService } from '../../../domain/tokens/personal-token.service.ts';
import type { TokenPolicyService } from '../../../domain/tokens/token-policy.ts';
import { meta, SLUG_PATTERN, UUID_PATTERN } from '../admin/rules.ts';
import { slugParams } from './schemas.ts';

export interface AdminTokensApiDeps {
  personalTokens: PersonalTokenService;
  tokenPolicy: TokenPolicyService;
}

const tokenParams = { type: 'object', required: ['slug', 'id'], properties: { slug: { type: 'string', pattern: SLUG_PATTERN }, id: { type: 'string', pattern: UUID_PATTERN } } } as const;
const tokenPolicyBody = {
  type: 'object',
  additionalProperties: false,
  properties: { tokenMaxDays: { type: ['integer', 'null'], minimum: 1, maximum: 3650 }, shortenExisting: { type: 'boolean' } },
} as const;

/** the API's view of a personal token (never its value) */
export function tokenJson(t: PersonalToken) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes,
    tenant: t.tenant?.slug ?? null,
    owner: t.owner ? { id: t.owner.id, email: t.owner.email, name: t.owner.name } : undefined,
    amr: t.amr,
    acr: t.acr,
    authTime: t.authTime.toISOString(),
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    expiresAt: t.expiresAt.toISOString(),
    active: t.active,
  };
}

export function adminTokenRoutes(api: FastifyInstance, deps: AdminTokensApiDeps) {
  api.get<{ Params: { slug: string } }>('/tenants/:slug/tokens', { schema: { params: slugParams } }, async (req) => ({
    tokens: (await deps.personalTokens.listForTenant(req.apiTenant!.id)).map(tokenJson),
  }));

  api.delete<{ Params: { slug: string; id: string } }>('/tenants/:slug/tokens/:id', { schema: { params: tokenParams } }, async (req, reply) => {
    await deps.personalTokens.revoke(req.apiUser!, req.params.id, { tenantId: req.apiTenant!.id }, meta(req));
    return reply.status(204).send();
  });

  api.get<{ Params: { slug: string } }>('/tenants/:slug/token-policy', { schema: { params: slugParams } }, async (req) => {
    const p = await deps.tokenPolicy.get(req.apiTenant!.id);
    return { tokenMaxDays: p.maxDays, deploymentMaxDays: deps.tokenPolicy.deploymentMaxDays };
  });

  api.put<{ Params: { slug: string }; Body: { tokenMaxDays?: number | null; shortenExisting?: boolean } }>(
    '/tenants/:slug/token-policy',
    { schema: { params: slugParams, body: tokenPolicyBody } },
    async (req) => {
      const { shortened } = await deps.tokenPolicy.set(req.apiTenant!.id, req.body.tokenMaxDays ?? null, req.body.shortenExisting === true, req.apiUser!.id, meta(req));
      return { tokenMaxDays: req.body.tokenMaxDays ?? null, deploymentMaxDays: deps.tokenPolicy.deploymentMaxDays, shortened };
    },
  );
}
