import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../../../domain/accounts/account.service.ts';
import type { Render } from '../../views.ts';
import type { EmailTokenPurpose } from '../../../db/database.ts';
import type { InvitationDetails } from '../../../domain/accounts/invitation-details.ts';

export interface PublicDeps {
  accounts: AccountService;
  render: Render;
  /** the product's name, as pages and mail say it */
  brandName: string;
  /** what an invitation link's page names: organization, inviter, role, what the organization may do */
  invitation(token: string, purpose: 'invite' | 'join_tenant'): Promise<InvitationDetails[] | null>;
}

/** the invitation details as the pages show them (the template words the role and writes the date in the page's language) */
export const invitationView = (list: InvitationDetails[] | null) => list ?? [];

export function page(reply: FastifyReply, html: string, status = 200) {
  return reply.status(status).type('text/html').header('cache-control', 'no-store').send(html);
}

/** the page for a link that no longer works: why, and the next step (400) */
export async function linkExpired(reply: FastifyReply, deps: PublicDeps, token: string, purpose: EmailTokenPurpose) {
  const help = await deps.accounts.linkHelp(token, purpose);
  return page(reply, deps.render('public/link-expired.njk', { ...help, purpose, token, csrfToken: reply.generateCsrf() }), 400);
}

export function meta(req: FastifyRequest) {
  return { ip: req.ip, userAgent: req.headers['user-agent'] };
}

/** where to continue after the page: only an interaction of ours, never an arbitrary URL */
export function safeReturn(value: unknown): string | undefined {
  return typeof value === 'string' && /^\/interaction\/[A-Za-z0-9_-]{1,128}$/.test(value) ? value : undefined;
}

export const tokenQuery = { type: 'object', properties: { token: { type: 'string', maxLength: 200 }, return: { type: 'string', maxLength: 200 } } } as const;
