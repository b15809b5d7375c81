import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../../../domain/accounts/account.service.ts';
import type { MfaPolicy } from '../../../domain/mfa/mfa-policy.ts';
import type { SecondFactorProof, TwoFactorService } from '../../../domain/mfa/two-factor.service.ts';
import type { SecurityKeys } from '../../../domain/mfa/security-keys.service.ts';
import type { User, UserService } from '../../../domain/users/user.service.ts';
import type { PersonalTokenService, Provenance } from '../../../domain/tokens/personal-token.service.ts';
import type { SessionReader } from '../../../oidc/session-reader.ts';
import type { Render } from '../../views.ts';
import type { LinkService } from '../../../domain/federation/link.service.ts';
import { knownDevice } from '../../device-cookie.ts';
import type { AuditRow } from '../../../domain/audit/audit-log.ts';
import type { SessionActivity } from '../../../domain/accounts/session-activity.ts';
import type { Clock } from '../../../domain/clock.ts';

export interface AccountDeps {
  readSession: SessionReader;
  users: UserService;
  twoFactor: TwoFactorService;
  accounts: AccountService;
  /** stamps a session's "last active" (at most every few minutes) */
  sessionActivity: SessionActivity;
  /** "now" for the sessions list's relative times */
  clock: Clock;
  mfaPolicy: MfaPolicy;
  personalTokens: PersonalTokenService;
  /** adding security keys and passkeys */
  securityKeys: SecurityKeys;
  /** recovery codes can be viewed again (GATEHOUSE_RECOVERY_CODES_VIEWABLE) */
  recoveryCodesViewable: boolean;
  tenantsForUser(userId: string): Promise<{ slug: string; name: string; role: string }[]>;
  render: Render;
  issuer: string;
  secure: boolean;
  /** upstream identities linked to the account (federation) */
  links?: LinkService;
  /** the account's recent security events, newest first ("Security activity") */
  activity(userId: string): Promise<AuditRow[]>;
}

declare module 'fastify' {
  interface FastifyRequest {
    accountUser: User | null;
    accountSessionId: string | null;
    /** how this session signed in: the provenance of what it creates (personal access tokens) */
    accountSignIn: Provenance | null;
  }
}

export function page(reply: FastifyReply, html: string, status = 200) {
  return reply.status(status).type('text/html').header('cache-control', 'no-store').send(html);
}

/** who asks, and from which session (a credential change keeps that session alive under the new epoch) */
export function meta(req: FastifyRequest) {
  return { ip: req.ip, userAgent: req.headers['user-agent'], sessionId: req.accountSessionId, device: knownDevice(req) };
}

export const confirmBody = {
  type: 'object',
  required: ['password'],
  properties: {
    _csrf: { type: 'string', maxLength: 256 },
    password: { type: 'string', maxLength: 4096 },
    code: { type: 'string', maxLength: 64 },
    /** a security key's assertion (the browser's JSON), instead of a code */
    assertion: { type: 'string', maxLength: 32768 },
    name: { type: 'string', maxLength: 200 },
  },
} as const;

export interface ConfirmBody {
  password: string;
  code?: string;
  assertion?: string;
  name?: string;
}

/** the second factor a confirmation form carries: a typed code, or a security key's assertion */
export function proof(body: ConfirmBody): SecondFactorProof {
  return body.assertion ? { assertion: body.assertion } : { code: body.code ?? '' };
}


/** the sign-in URL that comes back to `url` (a page that met a signed-out browser) */
export function signInFor(url: string): string {
  return `/account/sign-in?${new URLSearchParams({ return: url }).toString()}`;
}
