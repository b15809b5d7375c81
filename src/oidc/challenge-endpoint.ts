// The Authorization Challenge Endpoint of "OAuth 2.0 for First-Party Applications" (IETF draft), for first-party
// command-line tools: email + password (+ PKCE) → either an authorization code, or `insufficient_authorization` with
// an `auth_session`; then `auth_session` + the 6-digit code → the authorization code, redeemed at the normal token
// endpoint with the PKCE verifier. It is another door into the same sign-in state machine (sign-in-flow.ts): the same
// guess counters, the same mfa-policy decision, the same credential epoch, the same amr/acr. It never enrolls
// anyone: a user who must set up 2FA first is sent to the browser (`redirect_to_web`).
import { sql, type Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import type { Database } from '../db/database.ts';
import { sqlNow, type Clock } from '../domain/clock.ts';
import { randomToken, sha256Hex } from '../domain/crypto/tokens.ts';
import { ACCOUNT_CLIENT_ID } from '../domain/clients/client.service.ts';
import type { FederationService } from '../domain/federation/federation.service.ts';
import type { FlowResult, SignInFlow } from '../domain/mfa/sign-in-flow.ts';
import type { RequestMeta } from '../domain/users/user.service.ts';
import { acrFor, type Amr } from './acr-amr.ts';
import { withEpoch } from './request-scope.ts';

export const CHALLENGE_PATH = '/oidc/authorize-challenge';
const SESSION_SECONDS = 600;

export interface ChallengeParams {
  client_id?: string;
  client_secret?: string;
  username?: string;
  password?: string;
  otp?: string;
  recovery_code?: string;
  auth_session?: string;
  scope?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  redirect_uri?: string;
  acr_values?: string;
}

export interface ChallengeAnswer {
  status: number;
  body: Record<string, unknown>;
  retryAfter?: number;
}

const error = (status: number, code: string, description: string, extra: Record<string, unknown> = {}): ChallengeAnswer => ({ status, body: { error: code, error_description: description, ...extra } });

export function createChallengeEndpoint(deps: { provider: Provider; db: Kysely<Database>; flow: SignInFlow; clock: Clock; issuer: string; federation?: Pick<FederationService, 'doors'>; factorKinds: (userId: string) => Promise<string[]> }) {
  const { provider, db, flow, clock } = deps;

  /** the client, authenticated as at the token endpoint (public: its id; confidential: its secret too) */
  async function client(params: ChallengeParams, basic?: { id: string; secret: string }) {
    const id = basic?.id ?? params.client_id;
    if (!id) return null;
    const c = await provider.Client.find(id);
    if (!c) return null;
    if (c.clientAuthMethod !== 'none') {
      const secret = basic?.secret ?? params.client_secret;
      if (!secret || !(await (c as unknown as { compareClientSecret(s: string): Promise<boolean> | boolean }).compareClientSecret(secret))) return null;
    }
    return c;
  }

  /** the authorization code of a finished sign-in, with the same claims a browser sign-in would carry */
  async function issueCode(s: { client_id: string; scope: string; code_challenge: string; redirect_uri: string }, done: Extract<FlowResult, { outcome: 'done' }>, notice?: string): Promise<ChallengeAnswer> {
    const c = await provider.Client.find(s.client_id);
    if (!c) return error(400, 'invalid_client', 'The client is gone.');
    const code = await withEpoch(done.user.id, done.epoch, async () => {
      const grant = new provider.Grant({ accountId: done.user.id, clientId: c.clientId });
      grant.addOIDCScope(s.scope);
      const grantId = await grant.save();
      const ac = new provider.AuthorizationCode({
        accountId: done.user.id,
        acr: acrFor(done.amr as Amr[]),
        amr: done.amr,
        authTime: Math.floor(clock.now().getTime() / 1000),
        client: c,
        codeChallenge: s.code_challenge,
        codeChallengeMethod: 'S256',
        grantId,
        gty: 'authorization_code',
        redirectUri: s.redirect_uri,
        scope: s.scope,
      });
      return ac.save();
    });
    return { status: 200, body: { authorization_code: code, ...(notice ? { gatehouse_notice: notice } : {}) } };
  }

  /** what a step of the flow means for the terminal */
  async function answer(uid: string, authSession: string, result: FlowResult, s: { client_id: string; scope: string; code_challenge: string; redirect_uri: string }, stored = true): Promise<ChallengeAnswer> {
    switch (result.outcome) {
      case 'done':
        await db.deleteFrom('challenge_sessions').where('uid', '=', uid).execute();
        return issueCode(s, result);
      case 'method_refused':
        return error(400, 'redirect_to_web', `${result.organization} does not allow its members to sign in with a password. Sign in in your browser: ${deps.issuer}/account.`);
      case 'throttled':
        return { ...error(429, 'too_many_attempts', 'Too many attempts. Wait a few minutes, then try again.'), retryAfter: 60 };
      case 'invalid':
        // a wrong code keeps the sign-in (its auth_session); a wrong password has none to keep
        return stored ? error(400, 'invalid_grant', 'That code did not work. Try again.', { auth_session: authSession }) : error(400, 'invalid_grant', 'Incorrect email or password.');
      case 'expired':
        return error(400, 'invalid_session', 'This sign-in has expired or the account changed. Start again.');
      case 'next':
        if (result.step === 'second_factor') {
          return error(400, 'insufficient_authorization', 'Enter the 6-digit code from your authenticator app (or a recovery code).', { auth_session: authSession, methods: ['otp', 'recovery_code'] });
        }
        if (result.step === 'grace') {
          // during an organization's rollout the browser offers "remind me later": so does the terminal, saying so
          const later = await flow.grace(uid, 'later');
          if (later.outcome !== 'done') return answer(uid, authSession, later, s, stored);
          await db.deleteFrom('challenge_sessions').where('uid', '=', uid).execute();
          return issueCode(s, later, `Your organization will require two-factor authentication soon. Set it up at ${deps.issuer}/account.`);
        }
        if (result.step === 'enroll' || result.step === 'recovery_codes') {
          // enrollment (first authenticator, or a new one after a recovery code) happens in a browser only
          return error(400, 'redirect_to_web', `Set up two-factor authentication in your browser first: ${deps.issuer}/account, then sign in again.`, { enroll_uri: `${deps.issuer}/account` });
        }
    }
    // any other step (a security key) needs a browser
    return error(400, 'redirect_to_web', `This sign-in needs your browser: sign in at ${deps.issuer}/account.`, { enroll_uri: `${deps.issuer}/account` });
  }

  return async function challenge(params: ChallengeParams, basic: { id: string; secret: string } | undefined, meta: RequestMeta): Promise<ChallengeAnswer> {
    const c = await client(params, basic);
    if (!c) return error(401, 'invalid_client', 'Unknown client, or wrong client credentials.');
    const metadata = c.metadata() as Record<string, unknown>;
    // the account pages' own client signs people in through the browser only
    if (metadata.gatehouse_first_party !== true || !c.grantTypeAllowed('authorization_code') || c.clientId === ACCOUNT_CLIENT_ID) {
      return error(400, 'unauthorized_client', 'Only first-party clients with the authorization_code grant may sign people in here; others use the device flow.');
    }

    if (params.auth_session) {
      const uid = sha256Hex(params.auth_session);
      const s = await db.selectFrom('challenge_sessions').selectAll().where('uid', '=', uid).where('client_id', '=', c.clientId).where('expires_at', '>', sqlNow(clock)).executeTakeFirst();
      if (!s) return error(400, 'invalid_session', 'This sign-in has expired or the account changed. Start again.');
      if (params.otp) return answer(uid, params.auth_session, await flow.totp(uid, params.otp.replace(/\s/g, '').slice(0, 16), meta), s);
      if (params.recovery_code) return answer(uid, params.auth_session, await flow.recoveryCode(uid, params.recovery_code.slice(0, 64), meta), s);
      return error(400, 'invalid_request', 'Send otp (the 6-digit code) or recovery_code with the auth_session.');
    }

    if (!params.username || !params.password) return error(400, 'invalid_request', 'Send username and password (or auth_session with otp).');
    if (!params.code_challenge || params.code_challenge_method !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(params.code_challenge)) {
      return error(400, 'invalid_request', 'PKCE is required: code_challenge (S256, 43 characters) and code_challenge_method=S256.');
    }
    const scope = (params.scope ?? 'openid').split(' ').filter(Boolean);
    if (!scope.includes('openid') || scope.length > 20 || scope.some((x) => x.length > 64)) return error(400, 'invalid_scope', 'The scope must include openid (at most 20 scopes).');
    // an organization's app may forbid passwords (only upstream providers): the terminal obeys as the page does
    if (deps.federation && !(await deps.federation.doors(c.clientId)).passwordAllowed) {
      return error(400, 'redirect_to_web', `This app does not allow signing in with a password. Sign in in your browser: ${deps.issuer}/account.`);
    }
    const registered = c.redirectUris ?? [];
    const redirectUri = params.redirect_uri ?? (registered.length === 1 ? registered[0] : undefined);
    if (!redirectUri || !registered.includes(redirectUri)) return error(400, 'invalid_request', 'Name one of the client\'s registered redirect_uri values (needed only with several).');

    const authSession = randomToken(32);
    const uid = sha256Hex(authSession);
    const s = { client_id: c.clientId, scope: scope.join(' '), code_challenge: params.code_challenge, redirect_uri: redirectUri };
    const result = await flow.password(uid, params.username.slice(0, 320), params.password.slice(0, 4096), meta, { clientId: c.clientId, acrValues: params.acr_values });
    // a security key (or passkey) only works in a browser: an account without an authenticator app goes there
    if (result.outcome === 'next' && result.step === 'second_factor' && result.userId && !(await deps.factorKinds(result.userId)).includes('totp')) {
      return error(400, 'redirect_to_web', `This account signs in with a security key or passkey, which needs a browser: sign in at ${deps.issuer}/account, or use the device flow.`);
    }
    // only a sign-in that waits for a second factor is kept (nothing is stored for wrong passwords)
    const waits = result.outcome === 'next' && result.step === 'second_factor';
    if (waits) await db.insertInto('challenge_sessions').values({ uid, ...s, expires_at: sql`${sqlNow(clock)} + make_interval(secs => ${SESSION_SECONDS})` }).execute();
    return answer(uid, authSession, result, s, waits);
  };
}

export type ChallengeEndpoint = ReturnType<typeof createChallengeEndpoint>;
