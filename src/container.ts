// Composition root: one place that wires config, database, services and the provider.
import type { Kysely } from 'kysely';
import type { Config } from './config/load-config.ts';
import { createDb, type Database } from './db/database.ts';
import { startEmbeddedPostgres, type EmbeddedHandle } from './db/embedded.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createClientService } from './domain/clients/client.service.ts';
import { createClientAdmin } from './domain/clients/client-admin.ts';
import { createUserAdmin } from './domain/users/user-admin.ts';
import { createTenantAdmin } from './domain/tenants/tenant-admin.ts';
import { recordServerStart } from './domain/server-start.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import { createSecretBox } from './domain/crypto/secret-box.ts';
import { createSigningKeyService } from './domain/keys/signing-key.service.ts';
import { createPasswordHasher } from './domain/users/password-hasher.ts';
import { createUserService } from './domain/users/user.service.ts';
import { createOutbox } from './domain/email/outbox.ts';
import { createSignInFlow } from './domain/mfa/sign-in-flow.ts';
import { createThrottleService } from './domain/mfa/throttle.service.ts';
import { createTotpService } from './domain/mfa/totp.service.ts';
import { createTwoFactorService } from './domain/mfa/two-factor.service.ts';
import { createMfaPolicy } from './domain/mfa/mfa-policy.ts';
import { createSecurityKeys } from './domain/mfa/security-keys.service.ts';
import { createSecurityRecorder } from './domain/mfa/security-notice.ts';
import { dropSealedRecoveryCodes } from './domain/mfa/recovery-codes.ts';
import { createWebAuthn } from './domain/mfa/webauthn/webauthn.service.ts';
import { createEmailRenderer } from './email/render.ts';
import { createAccountService } from './domain/accounts/account.service.ts';
import { createSessionActivity } from './domain/accounts/session-activity.ts';
import { createTenantService } from './domain/tenants/tenant.service.ts';
import { createPersonalTokenService } from './domain/tokens/personal-token.service.ts';
import { createTokenPolicyService } from './domain/tokens/token-policy.ts';
import { createUpstreamService } from './domain/federation/upstream.service.ts';
import { createLinkService } from './domain/federation/link.service.ts';
import { createFederationService } from './domain/federation/federation.service.ts';
import { createUpstreamClient } from './oidc/upstream-client.ts';

export interface Logger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

/** Opens the database: DATABASE_URL, or the embedded PostgreSQL in the data dir. */
export async function openDatabase(config: Config, log?: Logger): Promise<{ db: Kysely<Database>; embedded?: EmbeddedHandle; url: string }> {
  let url = config.databaseUrl;
  let embedded: EmbeddedHandle | undefined;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPgPort, onLog: (m) => log?.debug({ pg: m.trim() }, 'embedded postgres') });
    url = embedded.url;
  }
  return { db: createDb(url, { max: config.dbPoolMax, preparedStatements: config.dbPreparedStatements }), embedded, url };
}

export function createServices(config: Config, db: Kysely<Database>, clock: Clock = systemClock) {
  const box = createSecretBox(config.encryptionKeys);
  const hasher = createPasswordHasher(config.argon2, config.hashConcurrency);
  const throttle = createThrottleService(db, clock);
  const users = createUserService({ db, hasher, throttle });
  const totp = createTotpService({ db, box, clock, issuer: config.totpIssuer });
  const outbox = createOutbox(createEmailRenderer(config.brand));
  const mfaPolicy = createMfaPolicy({ db, clock });
  const record = createSecurityRecorder({ outbox, clock, issuer: config.issuer });
  const webauthn = createWebAuthn({ db, clock, rp: config.webauthn, record });
  const recoveryCodesViewable = config.recoveryCodesViewable;
  const twoFactor = createTwoFactorService({ db, totp, throttle, users, outbox, clock, issuer: config.issuer, policy: mfaPolicy, webauthn, box, recoveryCodesViewable });
  const securityKeys = createSecurityKeys({ db, clock, webauthn, twoFactor, record, box, recoveryCodesViewable });
  const signInFlow = createSignInFlow({ db, users, twoFactor, throttle, policy: mfaPolicy, clock, ttlSeconds: config.ttl.interactionSeconds, webauthn, keys: securityKeys });
  // federation: upstream OpenID providers (CLI-managed), links, and the federated door into the sign-in flow
  const upstreams = createUpstreamService({ db, box, allowInsecure: config.allowPrivateFetch });
  const links = createLinkService({ db, clock, ttlSeconds: config.ttl.interactionSeconds, users });
  const gateway = createUpstreamClient({ timeoutMs: config.upstreamTimeoutMs, allowInsecure: config.allowPrivateFetch });
  const federation = createFederationService({ db, clock, box, upstreams, links, gateway, flow: signInFlow, issuer: config.issuer, signupEnabled: config.signupEnabled });
  const accounts = createAccountService({ db, users, hasher, outbox, clock, issuer: config.issuer, signupEnabled: config.signupEnabled });
  const tenants = createTenantService({ db, clock, outbox, twoFactor, invite: (email, meta) => accounts.invite(email, meta), inviteToTenant: (trx, user, tenant) => accounts.inviteToTenant(trx, user, tenant), issuer: config.issuer });
  return {
    config,
    db,
    clock,
    box,
    hasher,
    users,
    totp,
    throttle,
    outbox,
    twoFactor,
    webauthn,
    securityKeys,
    mfaPolicy,
    signInFlow,
    upstreams,
    links,
    federation,
    accounts,
    sessionActivity: createSessionActivity({ db, clock }),
    tenants,
    clients: createClientService({ db }),
    // the operator's (CLI) changes
    userAdmin: createUserAdmin({ db, hasher, outbox, clock, issuer: config.issuer }),
    clientAdmin: createClientAdmin({ db }),
    tenantAdmin: createTenantAdmin({ db, tenants }),
    tokenPolicy: createTokenPolicyService({ db, deploymentMaxDays: config.patMaxDays }),
    personalTokens: createPersonalTokenService({ db, clock, policy: mfaPolicy, outbox, issuer: config.issuer, maxDays: config.patMaxDays }),
    keys: createSigningKeyService({
      db,
      box,
      clock,
      // longest-lived signed token (ID token / JWT access token) plus a day for RPs' JWKS caches
      retentionSeconds: Math.max(config.ttl.idTokenSeconds, config.ttl.accessTokenSeconds) + 86400,
      publishDelaySeconds: config.keyPublishDelaySeconds,
    }),
  };
}

export type Services = ReturnType<typeof createServices>;

/** Start-up work that must finish before serving: schema, signing keys. */
export async function prepare(services: Services): Promise<void> {
  await migrateToLatest(services.db);
  await services.keys.ensure();
  await services.keys.purgeRetired();
  await services.clients.ensureAccountClient(services.config.issuer);
  // viewing recovery codes switched off: only their hashes are kept
  if (!services.config.recoveryCodesViewable) await dropSealedRecoveryCodes(services.db);
  await services.clients.ensurePersonalTokenClient();
  // the URL this server puts in mail, for the CLI to compare with its own
  await recordServerStart(services.db, services.config.issuer);
}
