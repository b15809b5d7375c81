// The one place that configures oidc-provider. Only src/oidc/ imports it.
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Kysely } from 'kysely';
import type { Config } from '../config/load-config.ts';
import type { Database } from '../db/database.ts';
import type { ClientService } from '../domain/clients/client.service.ts';
import type { Clock } from '../domain/clock.ts';
import type { SecretBox } from '../domain/crypto/secret-box.ts';
import type { PersonalTokenService } from '../domain/tokens/personal-token.service.ts';
import { matchesSha256 } from '../domain/crypto/tokens.ts';
import type { UserService, UserWithFactors } from '../domain/users/user.service.ts';
import { ACR_VALUES } from './acr-amr.ts';
import type { MfaPolicy } from '../domain/mfa/mfa-policy.ts';
import { hintMatchesSession, includeSidInIdTokens, installRequestGuards, introspectionAllowedPolicy, revocationAllowedPolicy } from './request-guards.ts';
import { createAdapterFactory, HASHED_SECRET_PREFIX, revokeGrantOf } from './adapter.ts';
import { storedId } from './payload-rows.ts';
import { commitRedemption } from './rotation.ts';
import { flushHeldWrites } from './held-writes.ts';
import type { SessionActivity } from '../domain/accounts/session-activity.ts';
import { recallRow, rememberRow, requestScope } from './request-scope.ts';
import { readAccountAhead } from './payload-reads.ts';
import { CHALLENGE_PATH } from './challenge-endpoint.ts';
import { failClosedDuringOutages } from './outage.ts';
import { cookieNames } from '../config/cookie-names.ts';
import { authContext, loginPolicy, POLICY_INPUTS, policyInputsKey } from './login-policy.ts';
import { idpClaim } from './idp-claim.ts';
import { SUPPORTED_LOCALES } from '../domain/users/locale-preference.ts';
import { queueBackchannelLogout } from './backchannel.ts';
import type { BackchannelQueue } from '../domain/logout/backchannel-queue.ts';

export type Render = (template: string, context: Record<string, unknown>) => string;

export interface ProviderDeps {
  config: Config;
  db: Kysely<Database>;
  users: UserService;
  tenantsForUser(userId: string): Promise<unknown[]>;
  mfaPolicy: MfaPolicy;
  clients: ClientService;
  /** seals the token values repeated inside stored payloads */
  box: SecretBox;
  /** the time our sign-ins are stamped with (login results' ts) */
  clock: Clock;
  /** personal access tokens, answered by introspection like access tokens */
  personalTokens: Pick<PersonalTokenService, 'findLive' | 'revokeByValue'>;
  jwks: Record<string, unknown>[];
  render: Render;
  log: { error(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
  /** the upstream issuer of a federated sign-in of this user at this auth_time (the `idp` claim) */
  idpFor?(userId: string, authTime: number): Promise<string | null>;
  /** back-channel logout calls are queued here and sent by the worker (backchannel.ts) */
  backchannel: Pick<BackchannelQueue, 'enqueue'>;
  /** a session's "last active", stamped when it authorizes an app (session-activity.ts) */
  sessionActivity?: Pick<SessionActivity, 'touch'>;
}

export const PROVIDER_ROUTES = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  jwks: '/oidc/jwks',
  end_session: '/oidc/session/end',
  introspection: '/oidc/token/introspection',
  revocation: '/oidc/token/revocation',
  device_authorization: '/oidc/device/auth',
  code_verification: '/oidc/device',
  pushed_authorization_request: '/oidc/request',
  backchannel_authentication: '/oidc/backchannel',
  registration: '/oidc/reg',
  challenge: '/oidc/challenge',
  credential: '/oidc/credential',
} as const;

/** plain words for the errors people meet on our error page; the protocol code is shown small beneath */
const ERROR_EXPLANATIONS: Record<string, string> = {
  invalid_redirect_uri: 'The app sent you from an address Gatehouse does not know for it, so we did not send you back.',
  invalid_client: 'Gatehouse does not know the app that sent you here.',
  invalid_request: 'The app sent an incomplete or malformed sign-in request.',
  unauthorized_client: 'This app is not allowed to sign people in this way.',
  invalid_grant: 'This sign-in link has expired or was already used.',
  session_not_found: 'Your sign-in session has expired.',
};

/** Authorization response modes for the code flow (RFC 6749 query, OAuth 2.0 Form Post). */
const RESPONSE_MODES = ['query', 'form_post'] as const;

/** Resource servers get JWT access tokens carrying these scopes at most. */
const RESOURCE_SCOPES = 'api';

export function createProvider(deps: ProviderDeps): Provider {
  const { config, render } = deps;
  const ttl = config.ttl;

  /**
   * The account at the authorization endpoint (a sign-in's resume, an app reusing the session): the 2FA check that
   * runs next (login-policy.ts) asks the policy about this user and app, so one statement reads both. Elsewhere the
   * user alone.
   */
  async function findAccountFor(ctx: KoaContextWithOIDC, sub: string): Promise<UserWithFactors | null> {
    const clientId = ctx.oidc.client?.clientId;
    if (!clientId || (ctx.oidc.route !== 'authorization' && ctx.oidc.route !== 'resume')) return deps.users.findWithFactors(sub);
    const { account, policy } = await readAccountAhead(deps.db, sub, clientId);
    rememberRow(POLICY_INPUTS, 'for', policyInputsKey(sub, clientId), policy);
    return account;
  }

  const configuration: Configuration = {
    adapter: createAdapterFactory(deps.db, deps.clients, deps.box, deps.mfaPolicy, deps.personalTokens) as unknown as Configuration['adapter'],
    jwks: { keys: deps.jwks as never[] },
    cookies: {
      keys: config.cookieKeys,
      names: (({ session, interaction, resume }) => ({ session, interaction, resume }))(cookieNames(config.secure)),
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure: config.secure },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: config.secure },
    },
    routes: PROVIDER_ROUTES,
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time', 'idp'],
      email: ['email', 'email_verified'],
      profile: ['name', 'two_factor_enabled'],
      tenants: ['tenants'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'tenants', 'admin', 'tokens', RESOURCE_SCOPES],
    acrValues: ACR_VALUES,
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256', 'RS256'],
      userinfoSigningAlgValues: ['ES256', 'RS256'],
      introspectionSigningAlgValues: ['ES256', 'RS256'],
      authorizationSigningAlgValues: ['ES256', 'RS256'],
      clientAuthSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      requestObjectSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      dPoPSigningAlgValues: ['ES256', 'EdDSA'],
    },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      // only the code flow exists: no `fragment` (implicit/hybrid responses); see the discovery filter below
      response_modes: [...RESPONSE_MODES],
    },
    // oidc-provider refuses outgoing calls to special-use addresses (SSRF); loopback RPs need an explicit opt-in
    fetch: (url, options) => {
      if (config.allowPrivateFetch) delete (options as { dispatcher?: unknown }).dispatcher;
      return globalThis.fetch(url, options);
    },
    extraClientMetadata: { properties: ['gatehouse_first_party'] },
    // the first-party terminal sign-in (challenge-endpoint.ts) is ours, outside the library: published here
    discovery: { authorization_challenge_endpoint: `${config.issuer}${CHALLENGE_PATH}`, ui_locales_supported: [...SUPPORTED_LOCALES] },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: introspectionAllowedPolicy(deps.clients) },
      revocation: { enabled: true, allowedPolicy: revocationAllowedPolicy },
      clientCredentials: { enabled: true },
      backchannelLogout: { enabled: true },
      claimsParameter: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined as unknown as string,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          let url: URL;
          try {
            url = new URL(resource);
          } catch {
            throw new errors.InvalidTarget('resource must be an absolute URI');
          }
          return {
            audience: url.href,
            scope: RESOURCE_SCOPES,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
      // device authorization grant (RFC 8628) for CLIs and TVs; approving it goes through the same sign-in and
      // 2FA policy as a browser sign-in (the login prompt check applies), and the device code is guarded like a token
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: async (ctx, form, _out, err) => {
          ctx.type = 'html';
          const error = err ? ((err as { userCode?: unknown; name?: string }).userCode || err.name === 'NoCodeError' ? 'That code is not right, or it has expired. Try again.' : 'Something went wrong. Start again on your device.') : undefined;
          ctx.body = render('oidc/device-input.njk', { form, error });
        },
        userCodeConfirmSource: async (ctx, form, client, _deviceInfo, userCode) => {
          ctx.type = 'html';
          ctx.body = render('oidc/device-confirm.njk', { form, clientName: client.clientName ?? client.clientId, userCode });
        },
        successSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = render('oidc/device-success.njk', { clientName: ctx.oidc.client?.clientName });
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          const hint = Boolean(ctx.oidc.params?.id_token_hint);
          const own = hint && hintMatchesSession(ctx);
          ctx.type = 'html';
          ctx.body = render('oidc/logout-confirm.njk', {
            form,
            clientName: ctx.oidc.client?.clientName ?? null,
            // the page submits itself only for a hint issued to this very session (sub and sid); otherwise it asks
            autoSubmit: own,
            otherSession: hint && !own,
          });
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = render('oidc/logout-success.njk', { clientName: ctx.oidc.client?.clientName ?? null });
        },
      },
    },
    findAccount: async (ctx, sub) => {
      // the user read with the refresh token being redeemed in this request (payload-reads.ts), else a read of its own
      const user = (recallRow('Account', 'id', sub) as UserWithFactors | undefined) ?? (await findAccountFor(ctx, sub));
      if (!user) return undefined;
      return {
        accountId: user.id,
        // the provider releases only what the grant covers (scopes, and claims asked for through `claims`)
        claims: async (_use, scope, requested) => ({
          sub: user.id,
          email: user.email,
          email_verified: user.emailVerified,
          name: user.name ?? undefined,
          two_factor_enabled: user.twoFactorEnabled,
          ...(await idpClaim(ctx, user.id, deps.idpFor)),
          ...(scope.includes('tenants') || (requested && 'tenants' in requested) ? { tenants: await deps.tenantsForUser(user.id) } : {}),
        }),
      };
    },
    loadExistingGrant: async (ctx) => {
      const client = ctx.oidc.client!;
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if ((client.metadata() as Record<string, unknown>).gatehouse_first_party !== true) return existing;
      // first-party clients skip consent: the grant follows what they ask for
      const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope([...ctx.oidc.requestParamScopes].join(' '));
      const claims = [...ctx.oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      const resources = ctx.oidc.params?.resource;
      for (const r of [resources].flat().filter((x): x is string => typeof x === 'string')) grant.addResourceScope(r, RESOURCE_SCOPES);
      await grant.save();
      return grant;
    },
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: loginPolicy(deps.mfaPolicy),
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    extraTokenClaims: async (ctx, token) => {
      if (!('accountId' in token) || !token.accountId) return undefined;
      return authContext(ctx);
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = render('oidc/error.njk', { error: out.error, description: out.error_description, explanation: ERROR_EXPLANATIONS[out.error] });
    },
    ttl: {
      AccessToken: ttl.accessTokenSeconds,
      AuthorizationCode: ttl.authorizationCodeSeconds,
      ClientCredentials: ttl.clientCredentialsSeconds,
      DeviceCode: 600,
      IdToken: ttl.idTokenSeconds,
      Interaction: ttl.interactionSeconds,
      Grant: ttl.refreshTokenSeconds,
      // absolute lifetime from the first issue of the chain: rotation never extends it
      RefreshToken: (_ctx, token) => {
        const iat = (token as unknown as { iiat?: number; iat?: number }).iiat ?? Math.floor(Date.now() / 1000);
        return Math.max(1, iat + ttl.refreshTokenSeconds - Math.floor(Date.now() / 1000));
      },
      // idle limit, capped by the absolute limit counted from sign-in; loginTs comes from our clock, so "now" does too
      Session: (_ctx, session) => {
        const now = Math.floor(deps.clock.now().getTime() / 1000);
        const loginTs = (session as unknown as { loginTs?: number }).loginTs ?? now;
        const remaining = loginTs + ttl.sessionSeconds - now;
        return Math.max(1, Math.min(ttl.sessionIdleSeconds, remaining));
      },
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  // outermost: errors escaping the provider go to the logger and our error page (request-guards.ts)
  installRequestGuards(provider, { render, log: deps.log, codeVerificationPath: PROVIDER_ROUTES.code_verification, authorizationPath: PROVIDER_ROUTES.authorization });
  // inside the guards: a database outage is a 503 with Retry-After, not a 500 (outage.ts)
  failClosedDuringOutages(provider, render);
  includeSidInIdTokens(provider);
  // innermost: rows a request writes inherit the credential epoch of the rows it read, a redemption (a refresh
  // token's rotation, a code's exchange) commits in one statement, and so do a sign-in's return's writes (request-scope.ts)
  provider.use(requestScope(deps.db, commitRedemption, revokeGrantOf, flushHeldWrites));
  // the library's discovery lists `fragment` whatever is configured: publish the modes clients may actually use
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.oidc?.route === 'discovery' ? (ctx.body as { response_modes_supported?: string[] } | undefined) : undefined;
    if (body?.response_modes_supported) body.response_modes_supported = [...RESPONSE_MODES];
  });

  // Confidential clients' secrets are stored as SHA-256 digests (high-entropy values: no slow hash on the token path).
  const proto = provider.Client.prototype as unknown as { compareClientSecret(actual: string): Promise<boolean> | boolean; clientSecret?: string };
  proto.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, actual: string) {
    const stored = this.clientSecret;
    if (!stored || !stored.startsWith(HASHED_SECRET_PREFIX) || typeof actual !== 'string') return false;
    return matchesSha256(actual, stored.slice(HASHED_SECRET_PREFIX.length));
  };

  provider.on('server_error', (_ctx, err) => deps.log.error({ err }, 'oidc server_error'));
  // a browser's session authorized an app: its "last active" (not awaited: the answer does not wait on a stamp)
  provider.on('authorization.success', (ctx) => {
    const { jti, loginTs } = (ctx.oidc.session as unknown as { jti?: string; loginTs?: number } | undefined) ?? {};
    const signedInAt = typeof loginTs === 'number' ? new Date(loginTs * 1000) : undefined;
    if (jti && ctx.oidc.session?.accountId) deps.sessionActivity?.touch(storedId('Session', jti), signedInAt).catch((err: unknown) => deps.log.warn({ err }, 'session activity not recorded'));
  });
  queueBackchannelLogout(provider, deps.backchannel);
  // with the queue this fires only when the row could not be written (database down): the logout itself still ends
  provider.on('backchannel.error', (_ctx, err, client) => deps.log.warn({ err, clientId: client.clientId }, 'back-channel logout could not be queued'));
  provider.on('grant.error', (_ctx, err) => {
    if ((err as { expose?: boolean }).expose === false) deps.log.error({ err }, 'oidc grant.error');
  });
  return provider;
}
