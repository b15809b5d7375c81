// The only module that reads process.env. Everything else receives a frozen Config.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseBrand, type Brand } from './brand.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Argon2Params {
  memoryCost: number; // KiB
  timeCost: number;
  parallelism: number;
}

export interface Config {
  production: boolean;
  port: number;
  host: string;
  issuer: string;
  /** true when the issuer is https: cookies get Secure and HSTS is sent */
  secure: boolean;
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  /** keygrip order: the first key signs, all keys verify */
  cookieKeys: string[];
  /** first key encrypts, all keys decrypt; id → 32-byte key */
  encryptionKeys: { id: string; key: Buffer }[];
  logLevel: LogLevel;
  trustProxy: boolean;
  /** let the provider call RPs on loopback/private addresses (back-channel logout, jwks_uri); off = SSRF protection */
  allowPrivateFetch: boolean;
  argon2: Argon2Params;
  hashConcurrency: number;
  threadpoolSize: number;
  dbPoolMax: number;
  /** prepare each statement once per connection (src/db/prepared.ts) */
  dbPreparedStatements: boolean;
  smtpUrl: string | undefined;
  /** self-service sign-up page */
  signupEnabled: boolean;
  mailFrom: string;
  /** issuer shown in authenticator apps */
  totpIssuer: string;
  /**
   * WebAuthn relying party: id = the issuer's host, origin = the issuer's origin, name = what authenticators show;
   * available = the host is a domain name (browsers refuse IP addresses as RP IDs)
   */
  webauthn: { rpId: string; origin: string; rpName: string; available: boolean };
  /** recovery codes are kept sealed beside their hash and can be viewed again (off: only the hash is kept) */
  recoveryCodesViewable: boolean;
  /**
   * bearer token for /metrics. Unset: /metrics answers 404 in production, and in development serves only direct
   * loopback requests
   */
  metricsToken: string | undefined;
  /** deployment maximum lifetime of personal access tokens, in days */
  patMaxDays: number;
  /** key rotation: seconds between publishing a new signing key and signing with it (longer than RPs' JWKS caches) */
  keyPublishDelaySeconds: number;
  /** how often each node looks for signing-key changes */
  keyPollSeconds: number;
  /** seconds between two runs of the purge job (expired protocol rows, sign-ins, counters, delivered mail) */
  purgeIntervalSeconds: number;
  /** how long a call to an upstream OpenID provider may take (discovery, token, JWKS, userinfo); at most 5 s */
  upstreamTimeoutMs: number;
  /** product name, logo, colour, support link and footer text of this deployment (src/config/brand.ts) */
  brand: Brand;
  /**
   * back-channel logout delivery: tries per call (then it is given up, audited) and the wait before the first retry
   * (doubled after each failure, at most an hour)
   */
  backchannel: { attempts: number; backoffMs: number };
  /** which secrets were generated for development (empty in production) */
  generatedSecrets: string[];
  ttl: {
    sessionSeconds: number;
    sessionIdleSeconds: number;
    interactionSeconds: number;
    authorizationCodeSeconds: number;
    accessTokenSeconds: number;
    /** access tokens of the client_credentials grant (opaque ones are stored until they expire) */
    clientCredentialsSeconds: number;
    idTokenSeconds: number;
    refreshTokenSeconds: number;
  };
}

export class ConfigError extends Error {
  constructor(
    public readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function parseCookieKeys(raw: string): string[] {
  const keys = raw.split(',').map((k) => k.trim()).filter(Boolean);
  if (keys.length === 0) throw new ConfigError('GATEHOUSE_COOKIE_KEYS', 'needs at least one key');
  for (const k of keys) {
    if (k.length < 32) throw new ConfigError('GATEHOUSE_COOKIE_KEYS', 'every key must be at least 32 characters');
  }
  return keys;
}

function parseEncryptionKeys(raw: string): { id: string; key: Buffer }[] {
  const out = raw.split(',').map((s) => s.trim()).filter(Boolean).map((entry) => {
    const m = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/=_-]+)$/.exec(entry);
    if (!m) throw new ConfigError('GATEHOUSE_ENCRYPTION_KEYS', 'entries must look like "<id>:<base64 of 32 bytes>"');
    const key = Buffer.from(m[2]!, 'base64');
    if (key.length !== 32) throw new ConfigError('GATEHOUSE_ENCRYPTION_KEYS', `key "${m[1]}" must decode to 32 bytes`);
    return { id: m[1]!, key };
  });
  if (out.length === 0) throw new ConfigError('GATEHOUSE_ENCRYPTION_KEYS', 'needs at least one key');
  return out;
}

function metricsToken(env: Env): string | undefined {
  const raw = env.GATEHOUSE_METRICS_TOKEN;
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 32 || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new ConfigError('GATEHOUSE_METRICS_TOKEN', 'must be at least 32 printable characters without spaces (e.g. openssl rand -hex 32)');
  }
  return raw;
}

function smtpUrl(env: Env): string | undefined {
  const raw = env.SMTP_URL;
  if (!raw) {
    if (env.NODE_ENV === 'production') throw new ConfigError('SMTP_URL', 'is required with NODE_ENV=production (mail would only reach the log)');
    return undefined;
  }
  if (!/^smtps?:\/\//.test(raw)) throw new ConfigError('SMTP_URL', 'must be an smtp:// or smtps:// URL');
  return raw;
}

interface DevSecrets {
  cookieKeys: string;
  encryptionKeys: string;
}

/** Development only: secrets generated on first start and kept in the data dir (mode 0600). */
function devSecrets(dataDir: string): DevSecrets {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  mkdirSync(dataDir, { recursive: true });
  const secrets: DevSecrets = {
    cookieKeys: randomBytes(32).toString('base64url'),
    encryptionKeys: `k${Date.now().toString(36)}:${randomBytes(32).toString('base64')}`,
  };
  try {
    // 'wx': two processes starting at once (server and CLI) must end up with the same secrets
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
    throw err;
  }
  chmodSync(file, 0o600);
  return secrets;
}

export function loadConfig(env: Env = process.env): Readonly<Config> {
  const production = env.NODE_ENV === 'production';
  const port = int(env, 'PORT', 3000, 0, 65535);
  const host = env.HOST || '0.0.0.0';
  const issuerRaw = env.GATEHOUSE_ISSUER || `http://localhost:${port}`;
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuerRaw);
  } catch {
    throw new ConfigError('GATEHOUSE_ISSUER', `must be an absolute URL, got "${issuerRaw}"`);
  }
  if (!['http:', 'https:'].includes(issuerUrl.protocol) || issuerUrl.search || issuerUrl.hash) {
    throw new ConfigError('GATEHOUSE_ISSUER', 'must be an http(s) URL without query or fragment');
  }
  if (issuerUrl.pathname !== '/') {
    throw new ConfigError('GATEHOUSE_ISSUER', 'must be the root of its host (no path), e.g. https://sso.example.com');
  }
  if (production && issuerUrl.protocol !== 'https:') {
    throw new ConfigError('GATEHOUSE_ISSUER', 'must be https with NODE_ENV=production');
  }
  const issuer = issuerUrl.origin;

  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  }
  if (production && !databaseUrl) {
    throw new ConfigError('DATABASE_URL', 'is required with NODE_ENV=production (the embedded database is for development)');
  }
  const dataDir = path.resolve(env.GATEHOUSE_DATA_DIR || './.gatehouse');

  const generatedSecrets: string[] = [];
  let cookieRaw = env.GATEHOUSE_COOKIE_KEYS;
  let encRaw = env.GATEHOUSE_ENCRYPTION_KEYS;
  if (production) {
    if (!cookieRaw) throw new ConfigError('GATEHOUSE_COOKIE_KEYS', 'must be set with NODE_ENV=production (generated keys are for development only)');
    if (!encRaw) throw new ConfigError('GATEHOUSE_ENCRYPTION_KEYS', 'must be set with NODE_ENV=production (generated keys are for development only)');
  } else if (!cookieRaw || !encRaw) {
    const dev = devSecrets(dataDir);
    if (!cookieRaw) {
      cookieRaw = dev.cookieKeys;
      generatedSecrets.push('GATEHOUSE_COOKIE_KEYS');
    }
    if (!encRaw) {
      encRaw = dev.encryptionKeys;
      generatedSecrets.push('GATEHOUSE_ENCRYPTION_KEYS');
    }
  }

  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`);
  }

  const threadpoolSize = int(env, 'UV_THREADPOOL_SIZE', 4, 1, 1024);
  if (threadpoolSize < 8) {
    throw new ConfigError('UV_THREADPOOL_SIZE', `must be at least 8 (argon2 and token signing share libuv's pool); got ${threadpoolSize}. Start with "npm start" or set UV_THREADPOOL_SIZE=8`);
  }

  const brand = parseBrand(
    {
      name: env.GATEHOUSE_BRAND_NAME || undefined,
      logo: env.GATEHOUSE_BRAND_LOGO || undefined,
      color: env.GATEHOUSE_BRAND_COLOR || undefined,
      supportUrl: env.GATEHOUSE_BRAND_SUPPORT_URL || undefined,
      footer: env.GATEHOUSE_BRAND_FOOTER || undefined,
      file: env.GATEHOUSE_BRAND_FILE ? path.resolve(env.GATEHOUSE_BRAND_FILE) : undefined,
    },
    (variable, message) => {
      throw new ConfigError(variable, message);
    },
  );
  // authenticator apps and security keys show the brand's name unless told otherwise
  const totpIssuer = (env.GATEHOUSE_TOTP_ISSUER || brand.name).slice(0, 64);

  const cores = availableParallelism();
  return Object.freeze({
    production,
    port,
    host,
    issuer,
    secure: issuerUrl.protocol === 'https:',
    databaseUrl,
    dataDir,
    embeddedPgPort: int(env, 'GATEHOUSE_EMBEDDED_PG_PORT', 54329, 1024, 65535),
    cookieKeys: parseCookieKeys(cookieRaw!),
    encryptionKeys: parseEncryptionKeys(encRaw!),
    logLevel,
    trustProxy: bool(env, 'GATEHOUSE_TRUST_PROXY', false),
    allowPrivateFetch: bool(env, 'GATEHOUSE_ALLOW_PRIVATE_FETCH', false),
    argon2: {
      memoryCost: int(env, 'GATEHOUSE_ARGON2_MEMORY_KIB', 19456, 1024, 1 << 21),
      timeCost: int(env, 'GATEHOUSE_ARGON2_TIME_COST', 2, 1, 50),
      parallelism: 1,
    },
    hashConcurrency: int(env, 'GATEHOUSE_HASH_CONCURRENCY', cores, 1, 64),
    threadpoolSize,
    dbPoolMax: int(env, 'GATEHOUSE_DB_POOL_MAX', 10, 1, 200),
    // named statements: on with the embedded database; with DATABASE_URL only when asked (PgBouncer before 1.21 in
    // transaction mode cannot carry them)
    dbPreparedStatements: bool(env, 'GATEHOUSE_DB_PREPARED_STATEMENTS', !databaseUrl),
    generatedSecrets,
    brand,
    smtpUrl: smtpUrl(env),
    metricsToken: metricsToken(env),
    patMaxDays: int(env, 'GATEHOUSE_PAT_MAX_DAYS', 90, 1, 3650),
    keyPublishDelaySeconds: int(env, 'GATEHOUSE_KEY_PUBLISH_DELAY', 15 * 60, 0, 7 * 86400),
    keyPollSeconds: int(env, 'GATEHOUSE_KEY_POLL_SECONDS', 5, 1, 3600),
    purgeIntervalSeconds: int(env, 'GATEHOUSE_PURGE_INTERVAL_SECONDS', 300, 5, 86400),
    upstreamTimeoutMs: int(env, 'GATEHOUSE_UPSTREAM_TIMEOUT_MS', 5000, 100, 5000),
    backchannel: {
      attempts: int(env, 'GATEHOUSE_BACKCHANNEL_ATTEMPTS', 8, 1, 50),
      backoffMs: int(env, 'GATEHOUSE_BACKCHANNEL_BACKOFF_MS', 10_000, 100, 3_600_000),
    },
    signupEnabled: bool(env, 'GATEHOUSE_SIGNUP', true),
    mailFrom: env.GATEHOUSE_MAIL_FROM || `Gatehouse <no-reply@${issuerUrl.hostname}>`,
    totpIssuer,
    webauthn: { rpId: issuerUrl.hostname, origin: issuer, rpName: totpIssuer, available: isIP(issuerUrl.hostname.replace(/^\[|\]$/g, '')) === 0 },
    recoveryCodesViewable: bool(env, 'GATEHOUSE_RECOVERY_CODES_VIEWABLE', true),
    ttl: {
      sessionSeconds: int(env, 'GATEHOUSE_SESSION_TTL', 12 * 3600, 60, 30 * 86400),
      sessionIdleSeconds: int(env, 'GATEHOUSE_SESSION_IDLE_TTL', 30 * 60, 60, 30 * 86400),
      interactionSeconds: 30 * 60,
      authorizationCodeSeconds: 60,
      accessTokenSeconds: 3600,
      clientCredentialsSeconds: 600,
      idTokenSeconds: 3600,
      refreshTokenSeconds: int(env, 'GATEHOUSE_REFRESH_TOKEN_TTL', 30 * 86400, 300, 365 * 86400),
    },
  });
}
