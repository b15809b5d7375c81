// Upstream OpenID providers, configured by the operator (CLI): issuer (discovery), client id, client secret (sealed
// by the secret box), scopes, display name, optional icon, and the trust rule (off by default). The name is the sign-in
// method's name in organization policies. Talking to upstreams is the gateway's job (oidc/upstream-client.ts).
import type { Kysely, Selectable } from 'kysely';
import type { Database, UpstreamProviderTable } from '../../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../errors.ts';
import { normalizeTrustRule, type TrustRule } from './trust-rule.ts';

export interface UpstreamProvider {
  id: string;
  name: string;
  displayName: string;
  issuer: string;
  clientId: string;
  hasSecret: boolean;
  scopes: string;
  iconUrl: string | null;
  trust: TrustRule;
}

/** what the gateway needs to talk to an upstream (the secret opened) */
export interface UpstreamEndpoint {
  id: string;
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  scopes: string;
  /** cached discovery is keyed by this (an update invalidates it) */
  version: string;
}

/** a verified answer of an upstream: the ID token's claims (and userinfo's email when the ID token had none) */
export interface UpstreamIdentity {
  issuer: string;
  subject: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
  amr?: string[];
  acr?: string;
  authTime?: number;
}

export type UpstreamFailureReason = 'unreachable' | 'timeout' | 'error_response' | 'invalid_response' | 'access_denied';

/** an upstream that is down, slow, refuses, or answers something that does not verify: nothing is created */
export class UpstreamFailure extends DomainError {
  constructor(
    public readonly reason: UpstreamFailureReason,
    public readonly detail: string,
  ) {
    super(`upstream_${reason}`, 'The other provider did not complete the sign-in.', 502);
  }
}

/** the port the domain talks to upstreams through (implemented by oidc/upstream-client.ts with openid-client) */
export interface UpstreamGateway {
  authorizationUrl(up: UpstreamEndpoint, p: { redirectUri: string; state: string; nonce: string; verifier: string; maxAge?: number }): Promise<string>;
  redeem(up: UpstreamEndpoint, p: { params: URLSearchParams; redirectUri: string; state: string; nonce: string; verifier: string; maxAge?: number }): Promise<UpstreamIdentity>;
}

export interface UpstreamInput {
  name?: string;
  displayName?: string;
  issuer?: string;
  clientId?: string;
  /** undefined: unchanged; null or '': none (public client) */
  clientSecret?: string | null;
  scopes?: string;
  iconUrl?: string | null;
  trustAmr?: string[];
  trustAcr?: string[];
  trustMaxAge?: number;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]{1,31}$/;
const ICON_RE = /^(\/static\/[A-Za-z0-9._/-]{1,200}|data:image\/(png|svg\+xml|webp);base64,[A-Za-z0-9+/=]{1,16000})$/;

type Row = Selectable<UpstreamProviderTable>;

const toProvider = (r: Row): UpstreamProvider => ({
  id: r.id,
  name: r.name,
  displayName: r.display_name,
  issuer: r.issuer,
  clientId: r.client_id,
  hasSecret: Boolean(r.client_secret_sealed),
  scopes: r.scopes,
  iconUrl: r.icon_url,
  trust: { amr: r.trust_amr, acr: r.trust_acr, maxAgeSeconds: r.trust_max_age },
});

export const upstreamSecretAad = (name: string) => `upstream:${name}`;

export function createUpstreamService(deps: { db: Kysely<Database>; box: SecretBox; allowInsecure: boolean }) {
  const { db, box } = deps;
  const aad = upstreamSecretAad;

  function checkIssuer(raw: string): string {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ValidationError('invalid_issuer', 'The issuer must be a URL, e.g. https://accounts.google.com.');
    }
    if (url.search || url.hash || url.username) throw new ValidationError('invalid_issuer', 'The issuer URL has no query, fragment or credentials.');
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && deps.allowInsecure)) {
      throw new ValidationError('invalid_issuer', 'The issuer must be https (http only with GATEHOUSE_ALLOW_PRIVATE_FETCH=true, for development).');
    }
    // kept exactly as typed: discovery and every ID token's `iss` must equal it (Auth0's ends in "/", Google's does not)
    return raw;
  }

  function validate(input: UpstreamInput, creating: boolean) {
    if (creating || input.name !== undefined) {
      if (!input.name || !NAME_RE.test(input.name) || input.name === 'password') throw new ValidationError('invalid_name', 'A name is 2–32 lowercase letters, digits or dashes (not "password"): it is the sign-in method in organization policies.');
    }
    if (creating || input.displayName !== undefined) {
      if (!input.displayName?.trim() || input.displayName.length > 64) throw new ValidationError('invalid_display_name', 'A display name of 1–64 characters is needed ("Google").');
    }
    if (creating || input.clientId !== undefined) {
      if (!input.clientId?.trim() || input.clientId.length > 512) throw new ValidationError('invalid_client_id', 'The client id the upstream gave you is needed.');
    }
    if (input.clientSecret && input.clientSecret.length > 2048) throw new ValidationError('invalid_client_secret', 'The client secret is too long.');
    if (input.scopes !== undefined && (!input.scopes.split(' ').includes('openid') || !/^[\x21-\x7e ]{6,512}$/.test(input.scopes))) {
      throw new ValidationError('invalid_scopes', 'Scopes are space-separated and must include openid.');
    }
    if (input.iconUrl && !ICON_RE.test(input.iconUrl)) throw new ValidationError('invalid_icon', 'The icon is a /static/… path or a data:image/…;base64 URI (pages load nothing from other origins).');
  }

  async function row(name: string): Promise<Row> {
    const r = NAME_RE.test(name) ? await db.selectFrom('upstream_providers').selectAll().where('name', '=', name).executeTakeFirst() : undefined;
    if (!r) throw new NotFoundError('upstream_not_found', `There is no upstream provider named "${name}".`);
    return r;
  }

  return {
    async add(input: UpstreamInput): Promise<UpstreamProvider> {
      validate(input, true);
      const issuer = checkIssuer(input.issuer ?? '');
      const trust = normalizeTrustRule({ amr: input.trustAmr, acr: input.trustAcr, maxAgeSeconds: input.trustMaxAge });
      const inserted = await db.transaction().execute(async (trx) => {
        const r = await trx
          .insertInto('upstream_providers')
          .values({
            name: input.name!,
            display_name: input.displayName!.trim(),
            issuer,
            client_id: input.clientId!.trim(),
            client_secret_sealed: input.clientSecret ? box.seal(input.clientSecret, aad(input.name!)) : null,
            scopes: input.scopes ?? 'openid email profile',
            icon_url: input.iconUrl || null,
            trust_amr: trust.amr,
            trust_acr: trust.acr,
            trust_max_age: trust.maxAgeSeconds,
          })
          .onConflict((oc) => oc.column('name').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!r) throw new ConflictError('upstream_exists', `An upstream provider named "${input.name}" exists.`);
        await recordAudit(trx, { event: 'upstream.added', userAgent: 'gatehouse-cli', data: { name: r.name, issuer: r.issuer, trust } });
        return r;
      });
      return toProvider(inserted);
    },

    async update(name: string, input: UpstreamInput): Promise<UpstreamProvider> {
      validate(input, false);
      const current = await row(name);
      const trust = normalizeTrustRule({ amr: input.trustAmr ?? current.trust_amr, acr: input.trustAcr ?? current.trust_acr, maxAgeSeconds: input.trustMaxAge ?? current.trust_max_age });
      return db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable('upstream_providers')
          .set({
            display_name: input.displayName?.trim() ?? current.display_name,
            issuer: input.issuer !== undefined ? checkIssuer(input.issuer) : current.issuer,
            client_id: input.clientId?.trim() ?? current.client_id,
            ...(input.clientSecret !== undefined ? { client_secret_sealed: input.clientSecret ? box.seal(input.clientSecret, aad(name)) : null } : {}),
            scopes: input.scopes ?? current.scopes,
            icon_url: input.iconUrl === undefined ? current.icon_url : input.iconUrl || null,
            trust_amr: trust.amr,
            trust_acr: trust.acr,
            trust_max_age: trust.maxAgeSeconds,
            updated_at: new Date(),
          })
          .where('id', '=', current.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await recordAudit(trx, { event: 'upstream.updated', userAgent: 'gatehouse-cli', data: { name, issuer: r.issuer, trust, secretChanged: input.clientSecret !== undefined } });
        return toProvider(r);
      });
    },

    /** removes the provider, its links and everything in flight for it (organizations' policies keep the name: harmless) */
    async remove(name: string): Promise<{ links: number }> {
      const current = await row(name);
      return db.transaction().execute(async (trx) => {
        const links = await trx.selectFrom('upstream_links').select((eb) => eb.fn.countAll<string>().as('n')).where('upstream_id', '=', current.id).executeTakeFirstOrThrow();
        await trx.deleteFrom('upstream_providers').where('id', '=', current.id).execute();
        await recordAudit(trx, { event: 'upstream.removed', userAgent: 'gatehouse-cli', data: { name, issuer: current.issuer, links: Number(links.n) } });
        return { links: Number(links.n) };
      });
    },

    async list(): Promise<UpstreamProvider[]> {
      return (await db.selectFrom('upstream_providers').selectAll().orderBy('name').execute()).map(toProvider);
    },

    async byName(name: string): Promise<UpstreamProvider> {
      return toProvider(await row(name));
    },

    async byId(id: string): Promise<UpstreamProvider | null> {
      const r = await db.selectFrom('upstream_providers').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toProvider(r) : null;
    },

    /** the provider with its secret opened, for the gateway */
    async endpoint(id: string): Promise<UpstreamEndpoint | null> {
      const r = await db.selectFrom('upstream_providers').selectAll().where('id', '=', id).executeTakeFirst();
      if (!r) return null;
      return {
        id: r.id,
        issuer: r.issuer,
        clientId: r.client_id,
        clientSecret: r.client_secret_sealed ? box.open(r.client_secret_sealed, aad(r.name)).toString('utf8') : null,
        scopes: r.scopes,
        version: r.updated_at.toISOString(),
      };
    },
  };
}

export type UpstreamService = ReturnType<typeof createUpstreamService>;
