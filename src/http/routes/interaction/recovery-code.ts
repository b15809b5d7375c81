import type { FastifyInstance } from 'fastify';
import { codeError, meta, page, proceed, type InteractionDeps } from './deps.ts';
import { codeBody, uidParams, type CodeBody, type UidParams } from './schemas.ts';

/** GET/POST /interaction/:uid/recovery-code: a recovery code instead of the authenticator. */
export default async function interactionRecoveryCode(app: FastifyInstance, deps: InteractionDeps) {
  const show = async (uid: string, csrfToken: string, error?: string) => {
    const factors = await deps.flow.factors(uid);
    return deps.render('interaction/recovery-code.njk', { uid, csrfToken, error, usable: factors?.usable ?? [], keysOnly: factors ? !factors.allowed.includes('totp') : false });
  };

  app.get<{ Params: UidParams }>('/interaction/:uid/recovery-code', { schema: { params: uidParams } }, async (req, reply) => {
    await deps.interactions.view(req.raw, reply.raw, req.params.uid);
    if ((await deps.flow.step(req.params.uid)) !== 'second_factor') return reply.redirect(`/interaction/${req.params.uid}`, 303);
    return page(reply, await show(req.params.uid, reply.generateCsrf()));
  });

  app.post<{ Params: UidParams; Body: CodeBody }>(
    '/interaction/:uid/recovery-code',
    { schema: { params: uidParams, body: codeBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      await deps.interactions.view(req.raw, reply.raw, uid);
      const result = await deps.flow.recoveryCode(uid, req.body.code, meta(req));
      app.metrics.loginOutcomes.inc({ outcome: `recovery_code_${result.outcome}` });
      if (result.outcome === 'invalid' || result.outcome === 'throttled') {
        const e = codeError(result);
        return page(reply, await show(uid, reply.generateCsrf(), e.message), e.status);
      }
      return proceed(deps, req, reply, uid, result);
    },
  );
}
