// `gatehouse upstream add|list|update|remove`: the operator's upstream OpenID providers (organization admins cannot).
import type { Services } from '../container.ts';
import type { UpstreamInput, UpstreamProvider } from '../domain/federation/upstream.service.ts';
import type { Command } from './command.ts';

const UPSTREAM_OPTIONS = {
  'display-name': { type: 'string' },
  issuer: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-stdin': { type: 'boolean', default: false },
  scopes: { type: 'string' },
  icon: { type: 'string' },
  'trust-amr': { type: 'string' },
  'trust-acr': { type: 'string' },
  'trust-max-age': { type: 'string' },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;
const list = (v: unknown) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);

function describe(u: UpstreamProvider): string {
  const trust = u.trust.amr.length || u.trust.acr.length ? `trust: amr ${u.trust.amr.join(',') || '-'} / acr ${u.trust.acr.join(',') || '-'}, auth_time ≤ ${u.trust.maxAgeSeconds}s` : 'trust: off';
  return `${u.name}  ${u.displayName}  ${u.issuer}  client ${u.clientId}${u.hasSecret ? ' (secret sealed)' : ' (public)'}  scopes "${u.scopes}"  ${trust}`;
}
const json = (u: UpstreamProvider) => ({ name: u.name, display_name: u.displayName, issuer: u.issuer, client_id: u.clientId, has_secret: u.hasSecret, scopes: u.scopes, icon: u.iconUrl, trust: u.trust });

/** runs an `upstream …` command; `fail` raises the CLI's usage error */
export async function runUpstreamCommand(
  sub: string,
  target: string | undefined,
  v: Values,
  services: Services,
  io: { print(human: string, data: unknown): void; readSecret(): Promise<string>; fail(message: string): never },
): Promise<number> {
  const input = async (): Promise<UpstreamInput> => {
    const maxAge = v['trust-max-age'];
    if (maxAge !== undefined && !/^\d+$/.test(String(maxAge))) io.fail('--trust-max-age must be a number of seconds');
    return {
      name: typeof v.name === 'string' ? v.name : undefined,
      displayName: v['display-name'] as string | undefined,
      issuer: v.issuer as string | undefined,
      clientId: v['client-id'] as string | undefined,
      clientSecret: v['client-secret-stdin'] ? await io.readSecret() : undefined,
      scopes: v.scopes as string | undefined,
      iconUrl: v.icon as string | undefined,
      trustAmr: list(v['trust-amr']),
      trustAcr: list(v['trust-acr']),
      trustMaxAge: maxAge === undefined ? undefined : Number(maxAge),
    };
  };
  switch (sub) {
    case 'add': {
      if (!v.name || !v['display-name'] || !v.issuer || !v['client-id']) io.fail('upstream add needs --name, --display-name, --issuer and --client-id');
      const u = await services.upstreams.add(await input());
      io.print(`Added ${describe(u)}\nRedirect URI to register at the provider: ${services.config.issuer}/federation/callback`, { ...json(u), redirect_uri: `${services.config.issuer}/federation/callback` });
      return 0;
    }
    case 'list': {
      const all = await services.upstreams.list();
      io.print(all.length ? all.map(describe).join('\n') : 'No upstream providers.', { upstreams: all.map(json) });
      return 0;
    }
    case 'update': {
      if (!target) io.fail('upstream update needs the name: upstream update google --trust-amr mfa');
      const { name: _ignored, ...rest } = await input();
      const u = await services.upstreams.update(target, rest);
      io.print(`Updated ${describe(u)}`, json(u));
      return 0;
    }
    case 'remove': {
      if (!target) io.fail('upstream remove needs the name');
      const r = await services.upstreams.remove(target);
      io.print(`Removed ${target} (${r.links} linked account${r.links === 1 ? '' : 's'} unlinked)`, { name: target, links_removed: r.links });
      return 0;
    }
    default:
      return io.fail(`unknown command "upstream ${sub}"`);
  }
}

const ADD_ARGS = `--name N --display-name D --issuer URL --client-id ID [--client-secret-stdin] [--scopes "openid email profile"]
                [--icon /static/x.svg|data:image/…] [--trust-amr mfa,otp,hwk] [--trust-acr V,…] [--trust-max-age SECONDS]`;
const SPECS: { verb: string; args: string; summary: string; positional?: string; options: Command['options'] }[] = [
  { verb: 'add', args: ADD_ARGS, summary: 'an upstream OpenID provider; its name is its sign-in method in organization policies (the secret is read from stdin and sealed)', options: { name: { type: 'string' }, ...UPSTREAM_OPTIONS } },
  { verb: 'list', args: '', summary: 'upstream providers and their trust rules', options: {} },
  { verb: 'update', args: 'NAME [same options as add]', summary: 'changes a provider; --trust-amr "" --trust-acr "" turns the trust rule off', positional: 'NAME', options: UPSTREAM_OPTIONS },
  { verb: 'remove', args: 'NAME', summary: "removes a provider and every account's link to it", positional: 'NAME', options: {} },
];

export const UPSTREAM_COMMANDS: Command[] = SPECS.map((spec) => ({
  noun: 'upstream',
  ...spec,
  run: (ctx) => runUpstreamCommand(spec.verb, ctx.target, ctx.v, ctx.services, { print: ctx.print, readSecret: ctx.readStdin, fail: ctx.fail }),
}));
