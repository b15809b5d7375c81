import type { FastifyInstance, FastifyReply } from 'fastify';
import { meta, page, proceed, type InteractionDeps } from './deps.ts';
import { responseBody, uidParams, type ResponseBody, type UidParams } from './schemas.ts';
import { translate } from '../../locale.ts';

/** GET/POST /interaction/:uid/security-key: the second factor with a security key or passkey, offered first. */
export default async function interactionSecurityKey(app: FastifyInstance, deps: InteractionDeps) {
  const show = async (reply: FastifyReply, uid: string, error?: string, status = 200) => {
    const [options, factors] = await Promise.all([deps.flow.keyOptions(uid), deps.flow.factors(uid)]);
    if (!options) return reply.redirect(`/interaction/${uid}`, 303);
    const html = deps.render('interaction/security-key.njk', { uid, csrfToken: reply.generateCsrf(), options: JSON.stringify(options), totp: factors?.usable.includes('totp'), error });
    return page(reply, html, status);
  };

  app.get<{ Params: UidParams }>('/interaction/:uid/security-key', { schema: { params: uidParams } }, async (req, reply) => {
    await deps.interactions.view(req.raw, reply.raw, req.params.uid);
    if ((await deps.flow.step(req.params.uid)) !== 'second_factor') return reply.redirect(`/interaction/${req.params.uid}`, 303);
    return show(reply, req.params.uid);
  });

  app.post<{ Params: UidParams; Body: ResponseBody }>(
    '/interaction/:uid/security-key',
    { schema: { params: uidParams, body: responseBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      await deps.interactions.view(req.raw, reply.raw, uid);
      const result = await deps.flow.securityKey(uid, req.body.response, meta(req));
      app.metrics.loginOutcomes.inc({ outcome: `security_key_${result.outcome}` });
      if (result.outcome === 'invalid') return show(reply, uid, translate('pages.keyNotAccepted'), 401);
      return proceed(deps, req, reply, uid, result);
    },
  );
}
