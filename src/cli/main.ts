// `gatehouse` command line. Works with or without a running server, on the embedded database or DATABASE_URL.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config.ts';
import { createServices, openDatabase } from '../container.ts';
import { migrateDown, migrateToLatest } from '../db/migrate.ts';
import { GRANT_TYPES, type GrantTypeName } from '../domain/clients/client.service.ts';
import { DomainError } from '../domain/errors.ts';

const USAGE = `Usage: gatehouse <command> [options] [--json]

  migrate [--down]                       apply pending migrations (or revert the last one)
  user create --email E [--name N] [--password-stdin]
  user invite --email E                  emails an invitation link (the user sets their password)
  client create --name N --redirect-uri U [--redirect-uri U2] [--post-logout-redirect-uri U]
                [--public] [--first-party] [--grant-type client_credentials|refresh_token|device_code ...]
                [--id-token-alg ES256|RS256] [--backchannel-logout-uri U]
  keys rotate                            a new signing key takes over; old keys stay published
  keys list
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
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const command = positionals.join(' ');
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
        // the outbox is sent by a running server; without one, send it now
        const { createMailer, createTransport } = await import('../email/mailer.ts');
        const mailer = createMailer({ db, transport: createTransport(config.smtpUrl), from: config.mailFrom, log: { info: (o) => process.stderr.write(`${JSON.stringify(o)}\n`), warn: (o) => process.stderr.write(`${JSON.stringify(o)}\n`) }, devSink: !config.smtpUrl });
        await mailer.drain();
        await mailer.stop();
        print(`Invitation sent to ${user.email}`, { id: user.id, email: user.email });
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
        });
        print(
          [`client_id:     ${c.clientId}`, ...(c.clientSecret ? [`client_secret: ${c.clientSecret}`, '(the secret is shown once; only its hash is stored)'] : [])].join('\n'),
          { client_id: c.clientId, ...(c.clientSecret ? { client_secret: c.clientSecret } : {}), metadata: c.metadata },
        );
        return 0;
      }
      case 'keys rotate': {
        const kids = await services.keys.rotate();
        print(`New signing keys: ${kids.join(', ')}. Restart Gatehouse nodes to start signing with them; old keys stay published until their tokens expire.`, { kids });
        return 0;
      }
      case 'keys list': {
        await services.keys.ensure();
        const keys = await services.keys.list();
        print(
          keys.map((k) => `${k.kid}  ${k.alg}  created ${k.createdAt.toISOString()}  ${k.retiredAt ? `retired ${k.retiredAt.toISOString()}` : 'active'}`).join('\n'),
          { keys: keys.map((k) => ({ kid: k.kid, alg: k.alg, created_at: k.createdAt, retired_at: k.retiredAt, active: !k.retiredAt })) },
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
