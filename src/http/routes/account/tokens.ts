import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { PERSONAL_TOKEN_SCOPES } from '../../../domain/tokens/personal-token.service.ts';
import { UUID_PATTERN } from '../admin/rules.ts';
import { meta, page, type AccountDeps } from './deps.ts';
import { doneMessage, errorText } from '../../locale.ts';

const SCOPE_HELP: Record<string, string> = {
  openid: 'Who you are (the token names you)',
  profile: 'Your name',
  email: 'Your email address',
  tenants: 'Your organizations and roles',
  api: 'Call APIs registered with Gatehouse as you',
};

const createBody = {
  type: 'object',
  required: ['name'],
  properties: {
    _csrf: { type: 'string', maxLength: 256 },
    name: { type: 'string', maxLength: 200 },
    scope: { anyOf: [{ type: 'string', maxLength: 32 }, { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 32 } }] },
    tenant: { type: 'string', maxLength: 100 },
    days: { type: 'string', maxLength: 6 },
  },
} as const;
const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: UUID_PATTERN } } } as const;
const csrfBody = { type: 'object', properties: { _csrf: { type: 'string', maxLength: 256 } } } as const;

interface CreateBody {
  name: string;
  scope?: string | string[];
  tenant?: string;
  days?: string;
}

/** /account/tokens: personal access tokens — create (shown once), list, revoke one or all. */
export default async function accountTokens(app: FastifyInstance, deps: AccountDeps) {
  const render = async (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const user = req.accountUser!;
    const [tokens, organizations, maxDays] = await Promise.all([deps.personalTokens.list(user.id), deps.tenantsForUser(user.id), deps.personalTokens.maximumDays(null)]);
    const signIn = req.accountSignIn!;
    const fresh = deps.personalTokens.isFresh(signIn);
    return page(
      reply,
      deps.render('account/tokens.njk', {
        csrfToken: reply.generateCsrf(),
        tokens,
        organizations,
        maxDays,
        fresh,
        scopes: PERSONAL_TOKEN_SCOPES.map((s) => ({ scope: s, help: SCOPE_HELP[s] })),
        ...extra,
      }),
      status,
    );
  };

  app.get<{ Querystring: { done?: string } }>('/account/tokens', { schema: { querystring: { type: 'object', properties: { done: { type: 'string', maxLength: 16 } } } } }, async (req, reply) =>
    render(req, reply, { flash: doneMessage('tokens', req.query.done) }),
  );

  app.post<{ Body: CreateBody }>('/account/tokens', { preValidation: app.csrfProtection, schema: { body: createBody } }, async (req, reply) => {
    const scopes = [req.body.scope ?? []].flat();
    const days = req.body.days ? Number(req.body.days) : null;
    try {
      const { token, personalToken } = await deps.personalTokens.create(req.accountUser!, req.accountSignIn!, { name: req.body.name, scopes, tenantSlug: req.body.tenant || null, days }, meta(req));
      return render(req, reply, { created: { token, name: personalToken.name } });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return render(req, reply, { error: errorText(err), stepUp: err.code === 'step_up_required', form: req.body }, err.httpStatus);
    }
  });

  app.post<{ Params: { id: string } }>('/account/tokens/:id/revoke', { preValidation: app.csrfProtection, schema: { params: idParams, body: csrfBody } }, async (req, reply) => {
    await deps.personalTokens.revoke(req.accountUser!, req.params.id, { userId: req.accountUser!.id }, meta(req));
    return reply.redirect('/account/tokens?done=revoked', 303);
  });

  app.post('/account/tokens/revoke-all', { preValidation: app.csrfProtection, schema: { body: csrfBody } }, async (req, reply) => {
    await deps.personalTokens.revokeAll(req.accountUser!, meta(req));
    return reply.redirect('/account/tokens?done=all', 303);
  });
}
