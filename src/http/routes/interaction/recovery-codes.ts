import type { FastifyInstance } from 'fastify';
import { codesText } from './enroll.ts';
import { meta, page, proceed, type InteractionDeps } from './deps.ts';
import { savedBody, uidParams, type UidParams } from './schemas.ts';
import { translate } from '../../locale.ts';

/** POST /interaction/:uid/recovery-codes: "I have saved these codes" finishes the sign-in. */
export default async function interactionRecoveryCodes(app: FastifyInstance, deps: InteractionDeps) {
  app.post<{ Params: UidParams; Body: { saved?: string } }>(
    '/interaction/:uid/recovery-codes',
    { schema: { params: uidParams, body: savedBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      await deps.interactions.view(req.raw, reply.raw, uid);
      if (req.body.saved !== 'yes') {
        // the codes on the last page are gone: show a new set, once
        const codes = await deps.flow.reissueCodes(uid, meta(req));
        if (!codes) return reply.redirect(`/interaction/${uid}`, 303);
        const html = deps.render('interaction/recovery-codes.njk', {
          uid,
          csrfToken: reply.generateCsrf(),
          codes,
          codesText: codesText(codes),
          error: translate('pages.tickSaved'),
        });
        return page(reply, html, 400);
      }
      return proceed(deps, req, reply, uid, await deps.flow.codesSaved(uid));
    },
  );
}
