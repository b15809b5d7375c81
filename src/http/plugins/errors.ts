import fp from 'fastify-plugin';
import type { FastifyError } from 'fastify';
import { isDatabaseUnavailable, RETRY_AFTER_SECONDS } from '../../db/unavailable.ts';
import { DomainError } from '../../domain/errors.ts';
import type { Render } from '../views.ts';

const TITLES: Record<number, string> = { 400: 'This request could not be completed', 403: 'Forbidden', 404: 'Not found', 409: 'Conflict', 413: 'Too large', 415: 'Unsupported', 429: 'Too many requests', 503: 'Temporarily unavailable' };

/** Stable answers: domain errors keep their status; a database outage is a 503 with Retry-After; 5xx bodies never leak details. */
export default fp(
  async (app, opts: { render: Render }) => {
    app.setErrorHandler((err: FastifyError, req, reply) => {
      let status = err instanceof DomainError ? err.httpStatus : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
      let message = err instanceof DomainError || status < 500 ? err.message : 'Something went wrong on our side. Please try again.';
      if (status >= 500 && isDatabaseUnavailable(err)) {
        status = 503;
        message = 'The service is temporarily unavailable. Please try again in a moment.';
        reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      }
      // the database's (or library's) own code goes to the log only; the answer carries ours
      if (status >= 500) req.log.error({ err, cause_code: (err as { code?: string }).code }, 'request failed');
      else req.log.info({ code: (err as { code?: string }).code, status }, 'request rejected');
      reply.status(status);
      if (req.headers.accept?.includes('text/html')) {
        return reply.type('text/html').send(opts.render('errors/error.njk', { title: TITLES[status] ?? 'Error', message }));
      }
      const code =
        err instanceof DomainError ? err.code : status === 503 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : ((err as { code?: string }).code ?? 'invalid_request');
      return reply.send({ error: code, message });
    });
    app.setNotFoundHandler((req, reply) => {
      reply.status(404);
      if (req.headers.accept?.includes('text/html')) {
        return reply.type('text/html').send(opts.render('errors/error.njk', { title: 'Not found', message: 'There is nothing at this address.' }));
      }
      return reply.send({ error: 'not_found', message: 'Not found' });
    });
  },
  { name: 'errors' },
);
