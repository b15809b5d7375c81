// `gatehouse` command line. Works with or without a running server, on the embedded database or DATABASE_URL.
import { resealAll } from '../domain/crypto/reseal.ts';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config.ts';
import { createServices, openDatabase } from '../container.ts';
import { migrateDown, migrateToLatest } from '../db/migrate.ts';
import { GRANT_TYPES, type GrantTypeName } from '../domain/clients/client.service.ts';
import { DomainError } from '../domain/errors.ts';
import { createMailer, createTransport } from '../email/mailer.ts';
import { runUpstreamCommand, UPSTREAM_OPTIONS, UPSTREAM_USAGE } from './upstream-commands.ts';

const USAGE = `Usage: gatehouse <command> [options] [--json]

  migrate [--down]                       apply pending migrations (or revert the last one)
  user create --email E [--name N] [--password-stdin]
  user invite --email E                  emails an invitation link (the user sets their password)
  user disable --email E                 the user cannot sign in; every session, token and link ends
  user enable --email E
  client create --name N --redirect-uri U [--redirect-uri U2] [--post-logout-redirect-uri U]
                [--public] [--first-party] [--grant-type client_credentials|refresh_token|device_code ...]
                [--id-token-alg ES256|RS256] [--backchannel-logout-uri U] [--tenant SLUG] [--require-mfa]
                [--resource-server]     an API that may introspect tokens issued to other clients
  tenant create --slug S --name N
  tenant update S [--require-2fa on|off] [--from YYYY-MM-DD|now] [--second-factors any|security-keys] [--name N]
                [--token-max-days N|default [--shorten-existing]]   longest life of access tokens bound to it
  tenant add-member S --email E --role owner|admin|member   (unknown addresses get an invitation)
  tenant methods S --methods password,NAME,...   the sign-in methods the organization allows (password, upstream names)
${UPSTREAM_USAGE}
  keys rotate                            new signing keys: published now, signing after the publish delay
  keys list
  keys reseal                            re-seals secrets at rest with the first GATEHOUSE_ENCRYPTION_KEYS key
`;

class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function run(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        down: { type: 'boolean', default: false },
        email: { type: 'string' },
        name: { type: 'string' },
        'password-stdin': { type: 'boolean', default: false },
        'redirect-uri': { type: 'string', multiple: true },
        'post-logout-redirect-uri': { type: 'string', multiple: true },
        public: { type: 'boolean', default: false },
        'first-party': { type: 'boolean', default: false },
        'grant-type': { type: 'string', multiple: true },
        'id-token-alg': { type: 'string' },
        'backchannel-logout-uri': { type: 'string' },
        slug: { type: 'string' },
        tenant: { type: 'string' },
        'require-mfa': { type: 'boolean', default: false },
        'resource-server': { type: 'boolean', default: false },
        'require-2fa': { type: 'string' },
        'token-max-days': { type: 'string' },
        'shorten-existing': { type: 'boolean', default: false },
        'second-factors': { type: 'string' },
        from: { type: 'string' },
        role: { type: 'string' },
        methods: { type: 'string' },
        ...UPSTREAM_OPTIONS,
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  // `tenant update S` / `tenant add-member S`: the slug is the third word
  const command = positionals.slice(0, 2).join(' ');
  const target = positionals[2];
  if (v.help || !command) {
    out(USAGE);
    return command || v.help ? 0 : 2;
  }
  const print = (human: string, data: unknown) => out(v.json ? JSON.stringify(data) : human);

  const config = loadConfig();
  const { db, embedded } = await openDatabase(config);
  try {
    if (command === 'migrate') {
      const result = v.down ? await migrateDown(db) : await migrateToLatest(db);
      const names = (result.results ?? []).map((r) => `${r.direction} ${r.migrationName}: ${r.status}`);
      print(names.length ? names.join('\n') : 'Nothing to do: the schema is current.', { results: result.results ?? [] });
      return 0;
    }
    await migrateToLatest(db);
    const services = createServices(config, db);
    // a running server sends the outbox; the CLI may run without one, so it sends what it queued itself
    const drainOutbox = async () => {
      const log = { info: (o: unknown) => process.stderr.write(`${JSON.stringify(o)}\n`), warn: (o: unknown) => process.stderr.write(`${JSON.stringify(o)}\n`) };
      const mailer = createMailer({ db, transport: createTransport(config.smtpUrl), from: config.mailFrom, log, devSink: !config.smtpUrl });
      await mailer.drain();
      await mailer.stop();
    };

    switch (command) {
      case 'user create': {
        if (!v.email) throw new UsageError('user create needs --email');
        const password = v['password-stdin'] ? await readStdin() : undefined;
        const user = await services.users.create({ email: v.email, name: v.name, password });
        print(`Created user ${user.email} (sub ${user.id})${password ? '' : ' without a password'}`, { id: user.id, sub: user.id, email: user.email, name: user.name });
        return 0;
      }
      case 'user invite': {
        if (!v.email) throw new UsageError('user invite needs --email');
        const user = await services.accounts.invite(v.email, { ip: null, userAgent: 'gatehouse-cli' });
        await drainOutbox();
        print(`Invitation sent to ${user.email}`, { id: user.id, email: user.email });
        return 0;
      }
      case 'user disable':
      case 'user enable': {
        if (!v.email) throw new UsageError(`${command} needs --email`);
        const disable = command === 'user disable';
        const user = await services.users.setDisabled(v.email, disable, { userAgent: 'gatehouse-cli' });
        print(disable ? `Disabled ${user.email}: signed out everywhere, cannot sign in` : `Enabled ${user.email}`, { id: user.id, email: user.email, disabled: disable });
        return 0;
      }
      case 'client create': {
        if (!v.name) throw new UsageError('client create needs --name');
        const grantTypes = (v['grant-type'] ?? []).map((g) => {
          if (!(g in GRANT_TYPES)) throw new UsageError(`unknown --grant-type "${g}" (use ${Object.keys(GRANT_TYPES).join(', ')})`);
          return g as GrantTypeName;
        });
        const alg = v['id-token-alg'];
        if (alg && alg !== 'ES256' && alg !== 'RS256') throw new UsageError('--id-token-alg must be ES256 or RS256');
        const c = await services.clients.create({
          name: v.name,
          redirectUris: v['redirect-uri'],
          postLogoutRedirectUris: v['post-logout-redirect-uri'],
          public: v.public,
          firstParty: v['first-party'],
          grantTypes,
          idTokenAlg: alg as 'ES256' | 'RS256' | undefined,
          backchannelLogoutUri: v['backchannel-logout-uri'],
          tenantId: v.tenant ? (await services.tenants.bySlug(v.tenant)).id : null,
          requireMfa: v['require-mfa'],
          resourceServer: v['resource-server'],
        });
        print(
          [`client_id:     ${c.clientId}`, ...(c.clientSecret ? [`client_secret: ${c.clientSecret}`, '(the secret is shown once; only its hash is stored)'] : [])].join('\n'),
          { client_id: c.clientId, ...(c.clientSecret ? { client_secret: c.clientSecret } : {}), metadata: c.metadata },
        );
        return 0;
      }
      case 'tenant create': {
        if (!v.slug || !v.name) throw new UsageError('tenant create needs --slug and --name');
        const t = await services.tenants.create({ slug: v.slug, name: v.name });
        print(`Created organization ${t.slug} (${t.name})`, { id: t.id, slug: t.slug, name: t.name });
        return 0;
      }
      case 'tenant update': {
        if (!target) throw new UsageError('tenant update needs the slug: tenant update S --require-2fa on');
        const t = await services.tenants.bySlug(target);
        const flag = v['require-2fa'];
        if (flag !== undefined && flag !== 'on' && flag !== 'off') throw new UsageError('--require-2fa must be on or off');
        let from: Date | null | undefined;
        if (v.from !== undefined) {
          from = v.from === 'now' ? null : new Date(`${v.from}${/^\d{4}-\d{2}-\d{2}$/.test(v.from) ? 'T00:00:00Z' : ''}`);
          if (from && Number.isNaN(from.getTime())) throw new UsageError('--from must be a date (YYYY-MM-DD) or now');
        }
        const factors = v['second-factors'];
        if (factors !== undefined && factors !== 'any' && factors !== 'security-keys') throw new UsageError('--second-factors must be any or security-keys');
        const secondFactors = factors === undefined ? undefined : factors === 'any' ? ['totp', 'webauthn'] : ['webauthn'];
        const maxDaysFlag = v['token-max-days'];
        const tokenMaxDays = maxDaysFlag === undefined ? undefined : maxDaysFlag === 'default' ? null : Number(maxDaysFlag);
        if (tokenMaxDays !== undefined && tokenMaxDays !== null && !Number.isInteger(tokenMaxDays)) throw new UsageError('--token-max-days must be a number of days (or default)');
        const updated = await services.tenants.updatePolicy(t, { require2fa: flag === undefined ? undefined : flag === 'on', enforceFrom: from, secondFactors }, null, { userAgent: 'gatehouse-cli' });
        const tokens = tokenMaxDays === undefined ? undefined : await services.tokenPolicy.set(t.id, tokenMaxDays, Boolean(v['shorten-existing']), null, { userAgent: 'gatehouse-cli' });
        const maxDays = (await services.tokenPolicy.get(t.id)).maxDays;
        print(
          `${updated.slug}: 2FA ${updated.require2fa ? `required${updated.enforceFrom ? ` from ${updated.enforceFrom.toISOString()}` : ''}` : 'not required'}; access tokens last at most ${maxDays ?? services.tokenPolicy.deploymentMaxDays} days${tokens?.shortened ? ` (${tokens.shortened} existing token${tokens.shortened === 1 ? '' : 's'} shortened)` : ''}`,
          { slug: updated.slug, require_2fa: updated.require2fa, enforce_from: updated.enforceFrom, token_max_days: maxDays, shortened: tokens?.shortened ?? 0 },
        );
        return 0;
      }
      case 'tenant add-member': {
        if (!target || !v.email || !v.role) throw new UsageError('tenant add-member S --email E --role owner|admin|member');
        const t = await services.tenants.bySlug(target);
        const r = await services.tenants.addMember(t, v.email, v.role as 'owner' | 'admin' | 'member', null, { userAgent: 'gatehouse-cli' });
        await drainOutbox();
        print(`${v.email} is now ${v.role} of ${t.slug}${r.invited ? ' (invitation sent)' : ''}`, { user_id: r.userId, invited: r.invited });
        return 0;
      }
      case 'tenant methods': {
        if (!target || !v.methods) throw new UsageError('tenant methods S --methods password,google');
        const t = await services.tenants.bySlug(target);
        const updated = await services.tenants.updatePolicy(t, { allowedMethods: v.methods.split(',').map((m) => m.trim()).filter(Boolean) }, null, { userAgent: 'gatehouse-cli' });
        print(`${updated.slug}: members sign in with ${updated.allowedMethods.join(', ')}`, { slug: updated.slug, allowed_methods: updated.allowedMethods });
        return 0;
      }
      case 'upstream add':
      case 'upstream list':
      case 'upstream update':
      case 'upstream remove':
        return await runUpstreamCommand(command.split(' ')[1]!, target, v, services, {
          print,
          readSecret: readStdin,
          fail: (message) => {
            throw new UsageError(message);
          },
        });
      case 'keys rotate': {
        const { kids, activatesAt } = await services.keys.rotate();
        print(
          `New signing keys: ${kids.join(', ')}. Every node publishes them within seconds and signs with them from ${activatesAt.toISOString()} (GATEHOUSE_KEY_PUBLISH_DELAY); no restart needed. Old keys stay published until their tokens expire.`,
          { kids, activates_at: activatesAt.toISOString() },
        );
        return 0;
      }
      case 'keys reseal': {
        const counts = await resealAll(services.db, services.box);
        const unreadable = Object.values(counts).reduce((n, c) => n + c.unreadable, 0);
        print(
          `${Object.entries(counts).map(([table, c]) => `${table}: ${c.resealed} re-sealed${c.unreadable ? `, ${c.unreadable} sealed with a key this node does not have` : ''}`).join('\n')}\n` +
            (unreadable ? 'Some values are sealed with keys no longer configured: they cannot be read.' : `Everything is sealed with key "${services.box.currentKeyId}": the other keys can be removed from GATEHOUSE_ENCRYPTION_KEYS.`),
          { key: services.box.currentKeyId, tables: counts },
        );
        return unreadable ? 1 : 0;
      }
      case 'keys list': {
        await services.keys.ensure();
        const keys = await services.keys.list();
        print(
          keys
            .map((k) => `${k.kid}  ${k.alg}  ${k.state.padEnd(7)}  created ${k.createdAt.toISOString()}${k.state === 'pending' ? `  signs from ${k.activatesAt.toISOString()}` : ''}${k.retiredAt && k.state !== 'pending' ? `  ${k.state === 'retired' ? 'retired' : 'retires'} ${k.retiredAt.toISOString()}` : ''}`)
            .join('\n'),
          { keys: keys.map((k) => ({ kid: k.kid, alg: k.alg, state: k.state, created_at: k.createdAt, activates_at: k.activatesAt, retired_at: k.retiredAt, active: k.state === 'signing' })) },
        );
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof DomainError) {
      process.stderr.write(v.json ? JSON.stringify({ error: err.code, message: err.message }) + '\n' : `Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await db.destroy();
    await embedded?.stop();
  }
}
