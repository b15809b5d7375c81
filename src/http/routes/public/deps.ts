import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../../../domain/accounts/account.service.ts';
import type { Render } from '../../views.ts';

export interface PublicDeps {
  accounts: AccountService;
  render: Render;
}

export function page(reply: FastifyReply, html: string, status = 200) {
  return reply.status(status).type('text/html').header('cache-control', 'no-store').send(html);
}

export function meta(req: FastifyRequest) {
  return { ip: req.ip, userAgent: req.headers['user-agent'] };
}

/** where to continue after the page: only an interaction of ours, never an arbitrary URL */
export function safeReturn(value: unknown): string | undefined {
  return typeof value === 'string' && /^\/interaction\/[A-Za-z0-9_-]{1,128}$/.test(value) ? value : undefined;
}

export const tokenQuery = { type: 'object', properties: { token: { type: 'string', maxLength: 200 }, return: { type: 'string', maxLength: 200 } } } as const;
