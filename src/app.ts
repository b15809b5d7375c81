// buildApp() assembles the HTTP application; it never listens (src/main.ts does).
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import type { Services } from './container.ts';
import { clientErrorHandler } from './http/client-error.ts';
import { loggerOptions } from './http/log.ts';
import oidcMount from './http/oidc-mount.ts';
import oidcChallenge from './http/routes/oidc-challenge.ts';
import { createChallengeEndpoint } from './oidc/challenge-endpoint.ts';
import errors from './http/plugins/errors.ts';
import inputGuard from './http/plugins/input-guard.ts';
import metrics from './http/plugins/metrics.ts';
import securityHeaders from './http/plugins/security-headers.ts';
import healthRoutes from './http/routes/health.ts';
import interactionAbort from './http/routes/interaction/abort.ts';
import interactionConsent from './http/routes/interaction/consent.ts';
import interactionIndex from './http/routes/interaction/index.ts';
import interactionLogin from './http/routes/interaction/login.ts';
import interactionTotp from './http/routes/interaction/totp.ts';
import interactionRecoveryCode from './http/routes/interaction/recovery-code.ts';
import interactionEnroll from './http/routes/interaction/enroll.ts';
import interactionRecoveryCodes from './http/routes/interaction/recovery-codes.ts';
import interactionGrace from './http/routes/interaction/grace.ts';
import interactionSecurityKey from './http/routes/interaction/security-key.ts';
import interactionSecurityKeyEnroll from './http/routes/interaction/security-key-enroll.ts';
import interactionPasskey from './http/routes/interaction/passkey.ts';
import interactionFederated from './http/routes/interaction/federated.ts';
import interactionFederatedLink from './http/routes/interaction/federated-link.ts';
import vendorAssets from './http/routes/vendor.ts';
import type { InteractionDeps } from './http/routes/interaction/deps.ts';
import { createRenderer, publicDir } from './http/views.ts';
import { createPurger } from './domain/maintenance/purge.ts';
import { createMailer, createTransport } from './email/mailer.ts';
import { createInteractions } from './oidc/interactions.ts';
import { createSessionReader } from './oidc/session-reader.ts';
import accountPlugin from './http/routes/account/plugin.ts';
import signup from './http/routes/public/signup.ts';
import verifyEmail from './http/routes/public/verify-email.ts';
import forgotPassword from './http/routes/public/forgot-password.ts';
import resetPassword from './http/routes/public/reset-password.ts';
import join from './http/routes/public/join.ts';
import { createProvider } from './oidc/provider.ts';
import { cookieNames } from './config/cookie-names.ts';
import { watchSigningKeys } from './http/key-watch.ts';
import adminPlugin from './http/routes/admin/plugin.ts';
import { userActivity } from './domain/audit/audit-log.ts';
import { invitationDetails } from './domain/accounts/invitation-details.ts';
import adminApi from './http/routes/api/admin-api.ts';
import { remindExpiringTokens } from './domain/tokens/personal-token-reminders.ts';
import meTokensApi from './http/routes/api/me-tokens-api.ts';
import { createTokenVerifier } from './oidc/token-verifier.ts';
import { localeContext, localeRoute, noteInteraction } from './http/locale.ts';
import brandRoutes from './http/routes/brand.ts';
import { setUserLocale } from './domain/users/locale-preference.ts';
import type { InteractionView } from './oidc/interactions.ts';
import { backchannelSender } from './oidc/backchannel.ts';
import { createBackchannelQueue } from './domain/logout/backchannel-queue.ts';

export async function buildApp(services: Services, opts: { logLevel?: string; logStream?: NodeJS.WritableStream; mailIntervalMs?: number } = {}): Promise<FastifyInstance> {
  const { config } = services;
  const render = createRenderer({ globals: { webauthnAvailable: config.webauthn.available }, brand: config.brand });
  const app = Fastify({
    logger: loggerOptions(opts.logLevel ?? config.logLevel, opts.logStream),
    trustProxy: config.trustProxy,
    bodyLimit: 64 * 1024,
    clientErrorHandler,
  });

  const providerWith = (jwks: Record<string, unknown>[]) =>
    createProvider({
      config,
      db: services.db,
      users: services.users,
      mfaPolicy: services.mfaPolicy,
      tenantsForUser: (id) => services.tenants.listForUser(id),
      clients: services.clients,
      box: services.box,
      clock: services.clock,
      personalTokens: services.personalTokens,
      sessionActivity: services.sessionActivity,
      jwks,
      render,
      log: app.log,
      idpFor: (userId, authTime) => services.links.idpFor(userId, authTime),
      backchannel,
    });
  const backchannel = createBackchannelQueue({ db: services.db, clock: services.clock, ...config.backchannel, log: app.log });
  const provider = providerWith(await services.keys.privateJwks());
  // the provider that signs logout tokens: the newest one after a signing-key change
  let current = provider;

  // first: a route registered before the error handler keeps fastify's default one (a NUL in /metrics' query was a 500)
  await app.register(errors, { render });
  // then: every later hook, handler and the provider's own pages run inside the request's language store
  await app.register(localeContext, { cookieName: cookieNames(config.secure).locale });
  await app.register(securityHeaders, { hsts: config.secure });
  await app.register(metrics, { token: config.metricsToken, production: config.production });
  await app.register(inputGuard);
  await app.register(cookie, { secret: config.cookieKeys });
  await app.register(fastifyStatic, { root: publicDir, prefix: '/static/', maxAge: '1h' });
  await app.register(vendorAssets);
  await app.register(healthRoutes, { db: services.db });
  await app.register(brandRoutes, { brand: config.brand });
  const readSession = createSessionReader(provider);
  await app.register(
    localeRoute({
      issuer: config.issuer,
      secure: config.secure,
      cookieName: cookieNames(config.secure).locale,
      signedInUserId: async (req, reply) => (await readSession(req.raw, reply.raw))?.accountId ?? null,
      save: (userId, locale) => setUserLocale(services.db, userId, locale),
    }),
  );
  // the provider's endpoints: swapped for one with the new key set when signing keys change (live rotation, below)
  let oidcCallback = provider.callback();
  await app.register(oidcMount, { callback: (req, res) => oidcCallback(req, res) });
  watchSigningKeys(app, services, (jwks) => {
    current = providerWith(jwks);
    oidcCallback = current.callback();
  });
  await app.register(oidcChallenge, { challenge: createChallengeEndpoint({ provider, db: services.db, flow: services.signInFlow, clock: services.clock, issuer: config.issuer, federation: services.federation, factorKinds: (id) => services.twoFactor.factorKinds(id) }) });

  const interactions = createInteractions(provider);
  // every interaction page reads its interaction first: that is when it learns the app's ui_locales and links
  const shownInteractions = {
    ...interactions,
    async view(...args: Parameters<typeof interactions.view>): Promise<InteractionView> {
      const v = await interactions.view(...args);
      const logo = v.clientLinks.logoUri;
      // pages load nothing from other origins: an app's logo is shown only as a data: image or from our origin
      const ownLogo = logo && (logo.startsWith('data:image/') || logo.startsWith(`${config.issuer}/`)) ? logo : undefined;
      noteInteraction(v.uiLocales, { name: v.clientName, logo: ownLogo, policyUri: v.clientLinks.policyUri, tosUri: v.clientLinks.tosUri });
      return v;
    },
  };
  const interactionDeps: InteractionDeps = { interactions: shownInteractions, users: services.users, flow: services.signInFlow, render, clock: services.clock, signupEnabled: config.signupEnabled, secure: config.secure, webauthnAvailable: config.webauthn.available, federation: services.federation };
  await app.register(async (forms) => {
    await forms.register(formbody);
    await forms.register(csrf, {
      sessionPlugin: '@fastify/cookie',
      cookieKey: cookieNames(config.secure).csrf,
      cookieOpts: { path: '/', sameSite: 'lax', httpOnly: true, secure: config.secure, signed: true },
    });
    await forms.register(interactionIndex, interactionDeps);
    await forms.register(interactionLogin, interactionDeps);
    await forms.register(interactionTotp, interactionDeps);
    await forms.register(interactionRecoveryCode, interactionDeps);
    await forms.register(interactionEnroll, interactionDeps);
    await forms.register(interactionRecoveryCodes, interactionDeps);
    await forms.register(interactionGrace, interactionDeps);
    await forms.register(interactionSecurityKey, interactionDeps);
    await forms.register(interactionSecurityKeyEnroll, interactionDeps);
    await forms.register(interactionPasskey, interactionDeps);
    await forms.register(interactionFederated, interactionDeps);
    await forms.register(interactionFederatedLink, interactionDeps);
    const publicDeps = { accounts: services.accounts, render, brandName: config.brand.name, invitation: (token: string, purpose: 'invite' | 'join_tenant') => invitationDetails(services.db, services.clock, token, purpose) };
    await forms.register(signup, publicDeps);
    await forms.register(verifyEmail, publicDeps);
    await forms.register(forgotPassword, publicDeps);
    await forms.register(resetPassword, publicDeps);
    await forms.register(join, publicDeps);
    await forms.register(accountPlugin, {
      readSession: createSessionReader(provider),
      users: services.users,
      twoFactor: services.twoFactor,
      accounts: services.accounts,
      sessionActivity: services.sessionActivity,
      clock: services.clock,
      mfaPolicy: services.mfaPolicy,
      personalTokens: services.personalTokens,
      securityKeys: services.securityKeys,
      recoveryCodesViewable: config.recoveryCodesViewable,
      tenantsForUser: (id: string) => services.tenants.listForUser(id),
      render,
      issuer: config.issuer,
      secure: config.secure,
      links: services.links,
      activity: (id: string) => userActivity(services.db, id, { limit: 15 }),
    });
    await forms.register(adminPlugin, { readSession: createSessionReader(provider), users: services.users, tenants: services.tenants, twoFactor: services.twoFactor, mfaPolicy: services.mfaPolicy, render, personalTokens: services.personalTokens, tokenPolicy: services.tokenPolicy });
    await forms.register(interactionConsent, interactionDeps);
    await forms.register(interactionAbort, interactionDeps);
  });

  await app.register(adminApi, { prefix: '/api/v1', verifyToken: createTokenVerifier(provider), tenants: services.tenants, users: services.users, issuer: config.issuer, personalTokens: services.personalTokens, tokenPolicy: services.tokenPolicy });
  await app.register(meTokensApi, { prefix: '/api/v1', verifyToken: createTokenVerifier(provider), users: services.users, personalTokens: services.personalTokens });

  app.get('/', async (_req, reply) => reply.type('text/html').send(render('home.njk', { issuer: config.issuer })));

  // the outbox worker: mail written in transactions is sent from here, with retries
  const mailer = createMailer({ db: services.db, transport: createTransport(config.smtpUrl), from: config.mailFrom, log: app.log, devSink: !config.smtpUrl });
  mailer.start(opts.mailIntervalMs ?? 1000);
  app.addHook('onClose', async () => mailer.stop());
  // the back-channel logout worker: queued calls to relying apps, retried with back-off, then given up (audited)
  backchannel.start((job) => backchannelSender(current)(job), Math.min(1000, config.backchannel.backoffMs));
  app.addHook('onClose', async () => backchannel.stop());

  // the purge job (domain/maintenance/purge.ts): dead rows go in bounded batches, on every node
  const purger = createPurger({ db: services.db, clock: services.clock });
  const purge = setInterval(() => {
    purger.purgeOnce().catch((err) => app.log.warn({ err }, 'purge of expired rows failed'));
  }, config.purgeIntervalSeconds * 1000);
  purge.unref();
  // personal access tokens about to expire get their reminder mail (once each, whichever node claims it)
  const reminders = setInterval(() => {
    remindExpiringTokens({ ...services, issuer: config.issuer }).catch((err) => app.log.warn({ err }, 'personal token expiry reminders failed'));
  }, 10 * 60 * 1000);
  reminders.unref();
  app.addHook('onClose', async () => {
    clearInterval(purge);
    clearInterval(reminders);
  });
  return app;
}
