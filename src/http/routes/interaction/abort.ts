import type { FastifyInstance } from 'fastify';
import type { InteractionDeps } from './deps.ts';
import { csrfOnlyBody, uidParams, type UidParams } from './schemas.ts';

/** POST /interaction/:uid/abort: back to the client with access_denied. */
export default async function interactionAbort(app: FastifyInstance, deps: InteractionDeps) {
  app.post<{ Params: UidParams }>(
    '/interaction/:uid/abort',
    { schema: { params: uidParams, body: csrfOnlyBody }, preValidation: app.csrfProtection },
    async (req, reply) => reply.redirect(await deps.interactions.abort(req.raw, reply.raw, req.params.uid), 303),
  );
}
