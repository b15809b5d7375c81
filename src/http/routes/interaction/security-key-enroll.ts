import type { FastifyInstance, FastifyReply } from 'fastify';
import { DomainError } from '../../../domain/errors.ts';
import { codesText } from './enroll.ts';
import { meta, page, proceed, type InteractionDeps } from './deps.ts';
import { responseBody, uidParams, type ResponseBody, type UidParams } from './schemas.ts';
import { errorText, translate } from '../../locale.ts';

/**
 * GET/POST /interaction/:uid/security-key/enroll: add a security key or passkey inside a sign-in (the organization
 * requires 2FA, or allows keys only). The browser registers the key (POST …/register answers with the challenge the
 * new key must sign), then posts the key's first signature here; the recovery codes are shown next, once.
 */
export default async function interactionSecurityKeyEnroll(app: FastifyInstance, deps: InteractionDeps) {
  const show = async (reply: FastifyReply, uid: string, clientName: string, error?: string, status = 200) => {
    const [options, factors, kind] = await Promise.all([deps.flow.keyEnrollmentOptions(uid), deps.flow.factors(uid), deps.flow.enrollment(uid)]);
    if (!options) return reply.redirect(`/interaction/${uid}`, 303);
    const totpAllowed = Boolean(factors?.allowed.includes('totp'));
    const html = deps.render('interaction/security-key-enroll.njk', { uid, clientName, csrfToken: reply.generateCsrf(), options: JSON.stringify(options), kind, keysOnly: !totpAllowed, totpAllowed, error });
    return page(reply, html, status);
  };

  app.get<{ Params: UidParams }>('/interaction/:uid/security-key/enroll', { schema: { params: uidParams } }, async (req, reply) => {
    const view = await deps.interactions.view(req.raw, reply.raw, req.params.uid);
    if ((await deps.flow.step(req.params.uid)) !== 'enroll') return reply.redirect(`/interaction/${req.params.uid}`, 303);
    return show(reply, req.params.uid, view.clientName);
  });

  app.post<{ Params: UidParams; Body: ResponseBody }>(
    '/interaction/:uid/security-key/enroll/register',
    { schema: { params: uidParams, body: responseBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      await deps.interactions.view(req.raw, reply.raw, req.params.uid);
      try {
        const options = await deps.flow.registerKey(req.params.uid, req.body.response, req.body.name ?? '');
        if (!options) return reply.status(400).header('cache-control', 'no-store').send({ error: 'interaction_expired', message: translate('pages.movedOn') });
        return reply.header('cache-control', 'no-store').send({ options });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return reply.status(err.httpStatus).header('cache-control', 'no-store').send({ error: err.code, message: errorText(err) });
      }
    },
  );

  app.post<{ Params: UidParams; Body: ResponseBody }>(
    '/interaction/:uid/security-key/enroll',
    { schema: { params: uidParams, body: responseBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      const view = await deps.interactions.view(req.raw, reply.raw, uid);
      try {
        const done = await deps.flow.activateKey(uid, req.body.response, meta(req));
        if (!done) return reply.redirect(`/interaction/${uid}`, 303);
        if ('done' in done) return proceed(deps, req, reply, uid, done.done);
        const html = deps.render('interaction/recovery-codes.njk', { uid, csrfToken: reply.generateCsrf(), codes: done.recoveryCodes, codesText: codesText(done.recoveryCodes) });
        return page(reply, html);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        if (err.code === 'interaction_expired') return reply.redirect(`/interaction/${uid}`, 303);
        return show(reply, uid, view.clientName, errorText(err), err.httpStatus);
      }
    },
  );
}
