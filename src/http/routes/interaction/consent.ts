import type { FastifyInstance } from 'fastify';
import type { InteractionDeps } from './deps.ts';
import { csrfOnlyBody, uidParams, type UidParams } from './schemas.ts';

/** POST /interaction/:uid/consent: the user allows a third-party client. */
export default async function interactionConsent(app: FastifyInstance, deps: InteractionDeps) {
  app.post<{ Params: UidParams }>(
    '/interaction/:uid/consent',
    { schema: { params: uidParams, body: csrfOnlyBody }, preValidation: app.csrfProtection },
    async (req, reply) => reply.redirect(await deps.interactions.finishConsent(req.raw, reply.raw, req.params.uid), 303),
  );
}
