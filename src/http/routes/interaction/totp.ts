import type { FastifyInstance } from 'fastify';
import { codeError, meta, page, proceed, type InteractionDeps } from './deps.ts';
import { codeBody, uidParams, type CodeBody, type UidParams } from './schemas.ts';
import type { FactorChoice } from '../../../domain/mfa/sign-in-flow.ts';

/** GET/POST /interaction/:uid/totp: the authentication code after the password. */
export default async function interactionTotp(app: FastifyInstance, deps: InteractionDeps) {
  const show = async (uid: string, csrfToken: string, error?: string, known?: FactorChoice) => {
    const factors = known ?? (await deps.flow.factors(uid));
    return deps.render('interaction/totp.njk', { uid, csrfToken, error, keys: factors?.usable.includes('webauthn') });
  };

  app.get<{ Params: UidParams }>('/interaction/:uid/totp', { schema: { params: uidParams } }, async (req, reply) => {
    // the sign-in's step is read beside the interaction (a read: dropped when the interaction is not one)
    const [, at] = await Promise.all([deps.interactions.view(req.raw, reply.raw, req.params.uid), deps.flow.at(req.params.uid)]);
    if (at?.step !== 'second_factor') return reply.redirect(`/interaction/${req.params.uid}`, 303);
    // an organization that counts security keys only, and the user has one: no authenticator codes here
    const { usable } = at.factors;
    if (!usable.includes('totp') && usable.includes('webauthn')) return reply.redirect(`/interaction/${req.params.uid}/security-key`, 303);
    return page(reply, await show(req.params.uid, reply.generateCsrf(), undefined, at.factors));
  });

  app.post<{ Params: UidParams; Body: CodeBody }>(
    '/interaction/:uid/totp',
    { schema: { params: uidParams, body: codeBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      // the interaction is read first; nothing is counted or checked until it is in (flow.totp)
      const result = await deps.flow.totp(uid, req.body.code, meta(req), deps.interactions.view(req.raw, reply.raw, uid));
      app.metrics.loginOutcomes.inc({ outcome: `totp_${result.outcome}` });
      if (result.outcome === 'invalid' || result.outcome === 'throttled') {
        const e = codeError(result);
        return page(reply, await show(uid, reply.generateCsrf(), e.message), e.status);
      }
      return proceed(deps, req, reply, uid, result);
    },
  );
}
