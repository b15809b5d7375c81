import fp from 'fastify-plugin';
import type { FastifyError } from 'fastify';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from '../../db/unavailable.ts';
import { DomainError } from '../../domain/errors.ts';
import type { Render } from '../views.ts';
import { translate } from '../locale.ts';

/** error page titles by status (errorPage.<status> in the catalogues) */
const TITLED = new Set([400, 403, 404, 409, 413, 415, 429, 503]);
const title = (status: number) => translate(TITLED.has(status) ? `errorPage.${status}` : 'errorPage.other');

/** Stable answers: domain errors keep their status; a database outage is a 503 with Retry-After; 5xx bodies never leak details. */
export default fp(
  async (app, opts: { render: Render }) => {
    app.setErrorHandler((err: FastifyError, req, reply) => {
      let status = err instanceof DomainError ? err.httpStatus : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
      let message = err instanceof DomainError || status < 500 ? err.message : translate('errorPage.serverError');
      if (status >= 500 && isDatabaseUnavailable(err)) {
        status = 503;
        message = translate('errorPage.unavailable');
        reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      }
      // the database's (or library's) own code goes to the log only; the answer carries ours
      if (status >= 500) req.log.error({ err, cause_code: (err as { code?: string }).code }, 'request failed');
      else req.log.info({ code: (err as { code?: string }).code, status }, 'request rejected');
      reply.status(status);
      if (req.headers.accept?.includes('text/html')) {
        return reply.type('text/html').send(opts.render('errors/error.njk', { title: title(status), message }));
      }
      const code =
        err instanceof DomainError ? err.code : status === 503 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : ((err as { code?: string }).code ?? 'invalid_request');
      return reply.send({ error: code, message });
    });
    app.setNotFoundHandler((req, reply) => {
      reply.status(404);
      if (req.headers.accept?.includes('text/html')) {
        return reply.type('text/html').send(opts.render('errors/error.njk', { title: title(404), message: translate('errorPage.nothingHere') }));
      }
      return reply.send({ error: 'not_found', message: 'Not found' });
    });
  },
  { name: 'errors' },
);
