// `gatehouse client …`: relying parties (apps) and resource servers, by client_id.
import { GRANT_TYPES, type GrantTypeName } from '../domain/clients/client.service.ts';
import type { ClientSummary } from '../domain/clients/client-admin.ts';
import { day, fields, flag, OPERATOR, plural, str, strs, table, type Command, type Context } from './command.ts';

const json = (c: ClientSummary) => ({
  client_id: c.clientId,
  name: c.name,
  public: c.public,
  first_party: c.firstParty,
  require_mfa: c.requireMfa,
  resource_server: c.resourceServer,
  tenant: c.tenantSlug,
  disabled: c.disabled,
  redirect_uris: c.redirectUris,
  post_logout_redirect_uris: c.postLogoutRedirectUris,
  grant_types: c.grantTypes,
  created_at: c.createdAt,
});
const kind = (c: ClientSummary) => (c.resourceServer ? 'resource server' : c.public ? 'public' : 'confidential');
const needId = (ctx: Context): string => ctx.target ?? ctx.fail(`gatehouse ${ctx.name} needs the client_id: gatehouse ${ctx.name} gh_…`);

const URI_RULES = `Redirect URIs are exact: https, http only on loopback (127.0.0.1, [::1], localhost), or a native app's
private-use scheme named after a domain it owns (com.example.app:/callback); no wildcard, fragment or user:password@.`;

export const CLIENT_COMMANDS: Command[] = [
  {
    noun: 'client',
    verb: 'list',
    args: '',
    summary: 'registered clients',
    options: {},
    async run(ctx) {
      const all = await ctx.services.clientAdmin.list();
      ctx.print(
        table(['CLIENT_ID', 'NAME', 'KIND', 'ORGANIZATION', 'STATUS', 'CREATED'], all.map((c) => [c.clientId, c.name, kind(c), c.tenantSlug ?? '-', c.disabled ? 'disabled' : 'active', day(c.createdAt)])),
        { clients: all.map(json) },
      );
      return 0;
    },
  },
  {
    noun: 'client',
    verb: 'show',
    args: 'CLIENT_ID',
    positional: 'CLIENT_ID',
    summary: 'one client: URIs, grants, organization, flags',
    options: {},
    async run(ctx) {
      const c = await ctx.services.clientAdmin.show(needId(ctx));
      ctx.print(
        fields([
          ['client_id', c.clientId],
          ['name', c.name],
          ['kind', `${kind(c)}${c.firstParty ? ', first-party (no consent screen)' : ''}${c.requireMfa ? ', every sign-in needs a second factor' : ''}`],
          ['organization', c.tenantSlug ?? '-'],
          ['status', c.disabled ? 'disabled' : 'active'],
          ['redirect URIs', c.redirectUris.join(' ') || '-'],
          ['post-logout URIs', c.postLogoutRedirectUris.join(' ') || '-'],
          ['grant types', c.grantTypes.join(' ') || '-'],
          ['created', day(c.createdAt)],
        ]),
        json(c),
      );
      return 0;
    },
  },
  {
    noun: 'client',
    verb: 'create',
    args: `--name N --redirect-uri U [--redirect-uri U2] [--post-logout-redirect-uri U] [--public] [--first-party]
                [--grant-type client_credentials|refresh_token|device_code …] [--id-token-alg ES256|RS256]
                [--backchannel-logout-uri U] [--tenant SLUG] [--require-mfa] [--resource-server]`,
    summary: 'registers a client; prints its client_id and (confidential clients) its secret, once',
    details: `  --tenant SLUG       an organization's private app (its 2FA rule applies to everyone signing in to it)
  --require-mfa       every sign-in to it needs a second factor
  --resource-server   an API that may introspect tokens issued to other clients (confidential; no redirect URI)
${URI_RULES}`,
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      public: { type: 'boolean' },
      'first-party': { type: 'boolean' },
      'grant-type': { type: 'string', multiple: true },
      'id-token-alg': { type: 'string' },
      'backchannel-logout-uri': { type: 'string' },
      tenant: { type: 'string' },
      'require-mfa': { type: 'boolean' },
      'resource-server': { type: 'boolean' },
    },
    async run(ctx) {
      const { v } = ctx;
      const name = str(v, 'name') ?? ctx.fail('gatehouse client create needs --name');
      const grantTypes = (strs(v, 'grant-type') ?? []).map((g) => (g in GRANT_TYPES ? (g as GrantTypeName) : ctx.fail(`unknown --grant-type "${g}" (use ${Object.keys(GRANT_TYPES).join(', ')})`)));
      const alg = str(v, 'id-token-alg');
      if (alg && alg !== 'ES256' && alg !== 'RS256') ctx.fail('--id-token-alg must be ES256 or RS256');
      const tenant = str(v, 'tenant');
      const c = await ctx.services.clients.create({
        name,
        redirectUris: strs(v, 'redirect-uri'),
        postLogoutRedirectUris: strs(v, 'post-logout-redirect-uri'),
        public: flag(v, 'public'),
        firstParty: flag(v, 'first-party'),
        grantTypes,
        idTokenAlg: alg as 'ES256' | 'RS256' | undefined,
        backchannelLogoutUri: str(v, 'backchannel-logout-uri'),
        tenantId: tenant ? (await ctx.services.tenants.bySlug(tenant)).id : null,
        requireMfa: flag(v, 'require-mfa'),
        resourceServer: flag(v, 'resource-server'),
      });
      ctx.print(
        [`client_id:     ${c.clientId}`, ...(c.clientSecret ? [`client_secret: ${c.clientSecret}`, '(the secret is shown once; only its hash is stored)'] : [])].join('\n'),
        { client_id: c.clientId, ...(c.clientSecret ? { client_secret: c.clientSecret } : {}), metadata: c.metadata },
      );
      return 0;
    },
  },
  {
    noun: 'client',
    verb: 'update',
    args: 'CLIENT_ID [--name N] [--redirect-uri U …] [--post-logout-redirect-uri U …] [--first-party|--third-party] [--require-mfa|--no-require-mfa]',
    positional: 'CLIENT_ID',
    summary: 'changes a client; --redirect-uri and --post-logout-redirect-uri replace the whole list',
    details: URI_RULES,
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      'first-party': { type: 'boolean' },
      'third-party': { type: 'boolean' },
      'require-mfa': { type: 'boolean' },
      'no-require-mfa': { type: 'boolean' },
    },
    async run(ctx) {
      const { v } = ctx;
      const id = needId(ctx);
      const pick = (on: string, off: string) => {
        if (flag(v, on) && flag(v, off)) ctx.fail(`give --${on} or --${off}, not both`);
        return flag(v, on) ? true : flag(v, off) ? false : undefined;
      };
      const input = { name: str(v, 'name'), redirectUris: strs(v, 'redirect-uri'), postLogoutRedirectUris: strs(v, 'post-logout-redirect-uri'), firstParty: pick('first-party', 'third-party'), requireMfa: pick('require-mfa', 'no-require-mfa') };
      if (Object.values(input).every((x) => x === undefined)) ctx.fail('nothing to change: give --name, --redirect-uri, --post-logout-redirect-uri, --first-party/--third-party or --require-mfa/--no-require-mfa');
      const c = await ctx.services.clientAdmin.update(id, input, OPERATOR);
      ctx.print(`Updated ${c.clientId} (${c.name}). The server picks the change up within seconds.`, json(c));
      return 0;
    },
  },
  ...(['disable', 'enable'] as const).map(
    (verb): Command => ({
      noun: 'client',
      verb,
      args: 'CLIENT_ID',
      positional: 'CLIENT_ID',
      summary: verb === 'disable' ? 'nobody can sign in to it; its tokens, codes and grants are deleted' : 'the client works again (its old tokens do not come back)',
      options: {},
      async run(ctx) {
        const { client, revoked } = await ctx.services.clientAdmin.setDisabled(needId(ctx), verb === 'disable', OPERATOR);
        ctx.print(verb === 'disable' ? `Disabled ${client.clientId} (${client.name}); ${plural(revoked, 'token')}, codes and grants deleted.` : `Enabled ${client.clientId} (${client.name}).`, { ...json(client), revoked });
        return 0;
      },
    }),
  ),
  {
    noun: 'client',
    verb: 'delete',
    args: 'CLIENT_ID [--yes]',
    positional: 'CLIENT_ID',
    summary: 'deletes a client and everything issued to it (asks first on a terminal; elsewhere needs --yes)',
    options: { yes: { type: 'boolean' } },
    async run(ctx) {
      const id = needId(ctx);
      const c = await ctx.services.clientAdmin.show(id);
      if (!(await ctx.confirm(`Delete the client ${c.clientId} (${c.name})? Every token issued to it stops working; this cannot be undone.`))) {
        ctx.note('Nothing deleted.');
        return 1;
      }
      const r = await ctx.services.clientAdmin.delete(id, OPERATOR);
      ctx.print(`Deleted ${c.clientId} (${c.name}); ${plural(r.revoked, 'token')}, codes and grants went with it.`, { client_id: c.clientId, deleted: true, revoked: r.revoked });
      return 0;
    },
  },
  {
    noun: 'client',
    verb: 'rotate-secret',
    args: 'CLIENT_ID',
    positional: 'CLIENT_ID',
    summary: 'a new client secret, shown once; the old one stops working at once',
    options: {},
    async run(ctx) {
      const id = needId(ctx);
      const { clientSecret } = await ctx.services.clientAdmin.rotateSecret(id, OPERATOR);
      ctx.print(`client_id:     ${id}\nclient_secret: ${clientSecret}\n(shown once; the old secret no longer works: give this one to the app now)`, { client_id: id, client_secret: clientSecret });
      return 0;
    },
  },
];
