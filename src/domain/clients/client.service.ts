import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { randomToken, sha256Hex } from '../crypto/tokens.ts';
import { ValidationError } from '../errors.ts';
import { applicationType, checkBackchannelUri, checkRedirectUri } from './redirect-uri.ts';

export const GRANT_TYPES = {
  authorization_code: 'authorization_code',
  refresh_token: 'refresh_token',
  client_credentials: 'client_credentials',
  device_code: 'urn:ietf:params:oauth:grant-type:device_code',
} as const;
export type GrantTypeName = keyof typeof GRANT_TYPES;

export const ACCOUNT_CLIENT_ID = 'gatehouse-account';
/** personal access tokens (domain/tokens) report this client id */
export const PERSONAL_TOKEN_CLIENT = 'gatehouse-personal-token';

export interface CreateClientInput {
  name: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  public?: boolean;
  firstParty?: boolean;
  grantTypes?: GrantTypeName[];
  idTokenAlg?: 'ES256' | 'RS256';
  backchannelLogoutUri?: string;
  /** the tenant this app belongs to (its 2FA rule applies to everyone signing in to it) */
  tenantId?: string | null;
  /** every sign-in to this app needs a second factor */
  requireMfa?: boolean;
  /** may introspect tokens issued to other clients (an API that checks the access tokens it receives); confidential only */
  resourceServer?: boolean;
}

export interface CreatedClient {
  clientId: string;
  /** shown once; only its SHA-256 is stored */
  clientSecret?: string;
  metadata: Record<string, unknown>;
}

export interface StoredClient {
  clientId: string;
  name: string;
  firstParty: boolean;
  secretSha256: string | null;
  metadata: Record<string, unknown>;
}

export function createClientService(deps: { db: Kysely<Database> }) {
  const { db } = deps;

  /** Gatehouse's own clients: public, first-party, rewritten at every start (their metadata follows the code) */
  async function ensureBuiltIn(metadata: { client_id: string; client_name: string } & Record<string, unknown>): Promise<void> {
    await db
      .insertInto('oidc_clients')
      .values({ client_id: metadata.client_id, name: metadata.client_name, metadata: JSON.stringify(metadata), secret_sha256: null, first_party: true })
      .onConflict((oc) => oc.column('client_id').doUpdateSet({ metadata: JSON.stringify(metadata), first_party: true }))
      .execute();
  }

  return {
    async create(input: CreateClientInput): Promise<CreatedClient> {
      const name = input.name?.trim();
      if (!name) throw new ValidationError('invalid_name', 'A client needs a name.');
      const redirectUris = input.redirectUris ?? [];
      const postLogout = input.postLogoutRedirectUris ?? [];
      for (const u of redirectUris) checkRedirectUri(u);
      for (const u of postLogout) checkRedirectUri(u, 'Post-logout redirect URI');
      const grants = new Set<GrantTypeName>(input.grantTypes ?? []);
      if (redirectUris.length) grants.add('authorization_code');
      if (grants.has('authorization_code') && !redirectUris.length) {
        throw new ValidationError('redirect_uri_required', 'A client using the authorization code flow needs at least one redirect URI.');
      }
      if (input.resourceServer && input.public) {
        throw new ValidationError('invalid_resource_server', 'A resource server must be a confidential client (it authenticates to introspect tokens).');
      }
      // a resource server may only introspect: no grant at all
      if (grants.size === 0 && !input.resourceServer) throw new ValidationError('grant_type_required', 'Give a redirect URI or a grant type.');
      if (input.public && grants.has('client_credentials')) {
        throw new ValidationError('invalid_grant_type', 'A public client cannot use client_credentials.');
      }
      const clientId = `gh_${randomToken(12)}`;
      const clientSecret = input.public ? undefined : randomToken(32);
      const metadata: Record<string, unknown> = {
        client_id: clientId,
        client_name: name,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogout,
        application_type: applicationType([...redirectUris, ...postLogout]),
        grant_types: [...grants].map((g) => GRANT_TYPES[g]),
        response_types: grants.has('authorization_code') ? ['code'] : [],
        token_endpoint_auth_method: input.public ? 'none' : 'client_secret_basic',
        id_token_signed_response_alg: input.idTokenAlg ?? 'ES256',
        ...(input.backchannelLogoutUri
          ? { backchannel_logout_uri: checkBackchannelUri(input.backchannelLogoutUri), backchannel_logout_session_required: true }
          : {}),
      };
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('oidc_clients')
          .values({
            client_id: clientId,
            name,
            metadata: JSON.stringify(metadata),
            secret_sha256: clientSecret ? sha256Hex(clientSecret) : null,
            first_party: input.firstParty ?? false,
            tenant_id: input.tenantId ?? null,
            require_mfa: input.requireMfa ?? false,
            resource_server: input.resourceServer ?? false,
          })
          .execute();
        await recordAudit(trx, { event: 'client.created', clientId, data: { name, grants: [...grants], resourceServer: input.resourceServer ?? false } });
      });
      return { clientId, clientSecret, metadata };
    },

    /** the account pages sign people in through Gatehouse itself, as a first-party public client */
    async ensureAccountClient(issuer: string): Promise<void> {
      const metadata = {
        client_id: ACCOUNT_CLIENT_ID,
        client_name: 'Your Gatehouse account',
        redirect_uris: [`${issuer}/account/callback`],
        post_logout_redirect_uris: [`${issuer}/`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        id_token_signed_response_alg: 'ES256',
      };
      await ensureBuiltIn(metadata);
    },

    /** the client every personal access token is reported as: it signs nobody in and gets no tokens itself */
    async ensurePersonalTokenClient(): Promise<void> {
      const metadata = {
        client_id: PERSONAL_TOKEN_CLIENT,
        client_name: 'Personal access tokens',
        redirect_uris: [],
        grant_types: [],
        response_types: [],
        token_endpoint_auth_method: 'none',
      };
      await ensureBuiltIn(metadata);
    },

    /** a client the provider may use: not switched off, nor its organization */
    async find(clientId: string): Promise<StoredClient | null> {
      const row = await db
        .selectFrom('oidc_clients')
        .selectAll()
        .where('client_id', '=', clientId)
        .where('disabled_at', 'is', null)
        .where((eb) => eb.or([eb('tenant_id', 'is', null), eb.not(eb.exists(eb.selectFrom('tenants as t').select('t.id').whereRef('t.id', '=', 'oidc_clients.tenant_id').where('t.disabled_at', 'is not', null)))]))
        .executeTakeFirst();
      return row
        ? { clientId: row.client_id, name: row.name, firstParty: row.first_party, secretSha256: row.secret_sha256, metadata: row.metadata }
        : null;
    },

    /** registered as a resource server: may introspect tokens of other clients */
    async isResourceServer(clientId: string): Promise<boolean> {
      const row = await db.selectFrom('oidc_clients').select('resource_server').where('client_id', '=', clientId).executeTakeFirst();
      return row?.resource_server === true;
    },

    async list(): Promise<StoredClient[]> {
      const rows = await db.selectFrom('oidc_clients').selectAll().orderBy('created_at').execute();
      return rows.map((row) => ({ clientId: row.client_id, name: row.name, firstParty: row.first_party, secretSha256: row.secret_sha256, metadata: row.metadata }));
    },
  };
}

export type ClientService = ReturnType<typeof createClientService>;
