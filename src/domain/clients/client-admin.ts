// The operator's changes to registered clients (the CLI): list, show, update, switch off, delete, new secret.
// Whatever a change takes away (a redirect URI, the client itself, its secret) takes effect for the provider within
// its short client cache; tokens already issued to a client that is switched off or deleted are deleted with it.
import { sql, type Kysely } from 'kysely';
import type { Database, Db } from '../../db/database.ts';
import { recordAudit, type AuditEventName } from '../audit/audit.service.ts';
import { randomToken, sha256Hex } from '../crypto/tokens.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { RequestMeta } from '../users/user.service.ts';
import { ACCOUNT_CLIENT_ID, PERSONAL_TOKEN_CLIENT } from './client.service.ts';
import { applicationType, checkRedirectUri } from './redirect-uri.ts';

export interface ClientSummary {
  clientId: string;
  name: string;
  public: boolean;
  firstParty: boolean;
  requireMfa: boolean;
  resourceServer: boolean;
  tenantSlug: string | null;
  disabled: boolean;
  createdAt: Date;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
}

export interface ClientUpdate {
  name?: string;
  /** replaces the list */
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  firstParty?: boolean;
  requireMfa?: boolean;
}

// Gatehouse's own clients are rewritten at every start: changing them here would not last, removing them breaks it
const BUILT_IN = new Set([ACCOUNT_CLIENT_ID, PERSONAL_TOKEN_CLIENT]);

export function createClientAdmin(deps: { db: Kysely<Database> }) {
  const { db } = deps;

  const base = () =>
    db
      .selectFrom('oidc_clients as c')
      .leftJoin('tenants as t', 't.id', 'c.tenant_id')
      .select(['c.client_id', 'c.name', 'c.metadata', 'c.secret_sha256', 'c.first_party', 'c.require_mfa', 'c.resource_server', 'c.disabled_at', 'c.created_at', 't.slug as tenant_slug']);
  type Row = Awaited<ReturnType<ReturnType<typeof base>['executeTakeFirstOrThrow']>>;
  const toSummary = (r: Row): ClientSummary => ({
    clientId: r.client_id,
    name: r.name,
    public: r.secret_sha256 === null,
    firstParty: r.first_party,
    requireMfa: r.require_mfa,
    resourceServer: r.resource_server,
    tenantSlug: r.tenant_slug,
    disabled: r.disabled_at !== null,
    createdAt: r.created_at,
    redirectUris: (r.metadata.redirect_uris as string[] | undefined) ?? [],
    postLogoutRedirectUris: (r.metadata.post_logout_redirect_uris as string[] | undefined) ?? [],
    grantTypes: (r.metadata.grant_types as string[] | undefined) ?? [],
  });

  async function row(clientId: string): Promise<Row> {
    const r = await base().where('c.client_id', '=', clientId).executeTakeFirst();
    if (!r) throw new NotFoundError('client_not_found', `No client with the id ${clientId}.`);
    return r;
  }

  function notBuiltIn(clientId: string): void {
    if (BUILT_IN.has(clientId)) throw new ValidationError('built_in_client', `${clientId} is Gatehouse's own client; it cannot be changed.`);
  }

  /** what the client's tokens, codes and grants were: the provider rows that name it */
  async function dropIssued(trx: Db, clientId: string): Promise<number> {
    const r = await trx.deleteFrom('oidc_payloads').where(sql<string>`payload->>'clientId'`, '=', clientId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async function audit(trx: Db, event: AuditEventName, clientId: string, meta: RequestMeta, data: Record<string, unknown> = {}) {
    await recordAudit(trx, { event, clientId, ip: meta.ip, userAgent: meta.userAgent, data: { ...data, actor: meta.actor ?? null } });
  }

  return {
    async list(): Promise<ClientSummary[]> {
      return (await base().orderBy('c.created_at').execute()).map(toSummary);
    },

    async show(clientId: string): Promise<ClientSummary> {
      return toSummary(await row(clientId));
    },

    async update(clientId: string, input: ClientUpdate, meta: RequestMeta = {}): Promise<ClientSummary> {
      notBuiltIn(clientId);
      const current = await row(clientId);
      const name = input.name === undefined ? current.name : input.name.trim();
      if (!name) throw new ValidationError('invalid_name', 'A client needs a name.');
      const redirectUris = input.redirectUris ?? ((current.metadata.redirect_uris as string[] | undefined) ?? []);
      const postLogout = input.postLogoutRedirectUris ?? ((current.metadata.post_logout_redirect_uris as string[] | undefined) ?? []);
      for (const u of redirectUris) checkRedirectUri(u);
      for (const u of postLogout) checkRedirectUri(u, 'Post-logout redirect URI');
      const grants = (current.metadata.grant_types as string[] | undefined) ?? [];
      if (grants.includes('authorization_code') && !redirectUris.length) {
        throw new ValidationError('redirect_uri_required', 'A client using the authorization code flow needs at least one redirect URI.');
      }
      const metadata = { ...current.metadata, client_name: name, redirect_uris: redirectUris, post_logout_redirect_uris: postLogout, application_type: applicationType([...redirectUris, ...postLogout]) };
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('oidc_clients')
          .set({ name, metadata: JSON.stringify(metadata), first_party: input.firstParty ?? current.first_party, require_mfa: input.requireMfa ?? current.require_mfa })
          .where('client_id', '=', clientId)
          .execute();
        await audit(trx, 'client.updated', clientId, meta, { fields: Object.keys(input).filter((k) => input[k as keyof ClientUpdate] !== undefined) });
      });
      return toSummary(await row(clientId));
    },

    /** off: the provider no longer knows the client and what was issued to it is deleted; on gives none of it back */
    async setDisabled(clientId: string, disabled: boolean, meta: RequestMeta = {}): Promise<{ client: ClientSummary; revoked: number }> {
      notBuiltIn(clientId);
      await row(clientId);
      const revoked = await db.transaction().execute(async (trx) => {
        await trx.updateTable('oidc_clients').set({ disabled_at: disabled ? sql`now()` : null }).where('client_id', '=', clientId).execute();
        const n = disabled ? await dropIssued(trx, clientId) : 0;
        await audit(trx, disabled ? 'client.disabled' : 'client.enabled', clientId, meta, disabled ? { revoked: n } : {});
        return n;
      });
      return { client: toSummary(await row(clientId)), revoked };
    },

    async delete(clientId: string, meta: RequestMeta = {}): Promise<{ revoked: number }> {
      notBuiltIn(clientId);
      const current = await row(clientId);
      return db.transaction().execute(async (trx) => {
        const revoked = await dropIssued(trx, clientId);
        await trx.deleteFrom('oidc_clients').where('client_id', '=', clientId).execute();
        await audit(trx, 'client.deleted', clientId, meta, { name: current.name, revoked });
        return { revoked };
      });
    },

    /**
     * A new secret, shown once (only its SHA-256 is stored); the old one stops working at once, so the app must be
     * given the new one now. Tokens already issued stay valid until they expire.
     */
    async rotateSecret(clientId: string, meta: RequestMeta = {}): Promise<{ clientSecret: string }> {
      notBuiltIn(clientId);
      const current = await row(clientId);
      if (current.secret_sha256 === null) throw new ValidationError('public_client', `${clientId} is a public client: it has no secret.`);
      const clientSecret = randomToken(32);
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('oidc_clients').set({ secret_sha256: sha256Hex(clientSecret) }).where('client_id', '=', clientId).execute();
        await audit(trx, 'client.secret_rotated', clientId, meta);
      });
      return { clientSecret };
    },
  };
}

export type ClientAdmin = ReturnType<typeof createClientAdmin>;
