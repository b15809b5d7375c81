// `gatehouse keys …` (signing keys) and `gatehouse migrate` (the schema).
import { migrateDown, migrateToLatest } from '../db/migrate.ts';
import { resealAll } from '../domain/crypto/reseal.ts';
import { table, when, type Command } from './command.ts';

export const KEY_COMMANDS: Command[] = [
  {
    noun: 'migrate',
    verb: '',
    args: '[--down]',
    summary: 'applies pending migrations (also done at every start) or, with --down, reverts the last one',
    options: { down: { type: 'boolean' } },
    async run(ctx) {
      const result = ctx.v.down ? await migrateDown(ctx.services.db) : await migrateToLatest(ctx.services.db);
      const names = (result.results ?? []).map((r) => `${r.direction} ${r.migrationName}: ${r.status}`);
      if (result.error) throw result.error;
      ctx.print(names.length ? names.join('\n') : 'Nothing to do: the schema is current.', { results: result.results ?? [] });
      return 0;
    },
  },
  {
    noun: 'keys',
    verb: 'rotate',
    args: '',
    summary: 'new signing keys (ES256 and RS256): published at once, signing after the publish delay',
    options: {},
    async run(ctx) {
      const { kids, activatesAt } = await ctx.services.keys.rotate();
      ctx.print(
        `New signing keys: ${kids.join(', ')}. Every node publishes them within seconds and signs with them from ${activatesAt.toISOString()} (GATEHOUSE_KEY_PUBLISH_DELAY); no restart needed. Old keys stay published until their tokens expire.`,
        { kids, activates_at: activatesAt.toISOString() },
      );
      return 0;
    },
  },
  {
    noun: 'keys',
    verb: 'list',
    args: '',
    summary: 'signing keys: pending, signing or retired',
    options: {},
    async run(ctx) {
      await ctx.services.keys.ensure();
      const keys = await ctx.services.keys.list();
      ctx.print(
        table(
          ['KID', 'ALG', 'STATE', 'CREATED', 'SIGNS FROM', 'RETIRES'],
          keys.map((k) => [k.kid, k.alg, k.state, when(k.createdAt), when(k.activatesAt), k.retiredAt ? when(k.retiredAt) : '-']),
        ),
        { keys: keys.map((k) => ({ kid: k.kid, alg: k.alg, state: k.state, created_at: k.createdAt, activates_at: k.activatesAt, retired_at: k.retiredAt, active: k.state === 'signing' })) },
      );
      return 0;
    },
  },
  {
    noun: 'keys',
    verb: 'reseal',
    args: '',
    summary: 're-seals every secret at rest with the first GATEHOUSE_ENCRYPTION_KEYS key, so that older keys can be removed',
    options: {},
    async run(ctx) {
      const { db, box } = ctx.services;
      const counts = await resealAll(db, box);
      const unreadable = Object.values(counts).reduce((n, c) => n + c.unreadable, 0);
      ctx.print(
        `${Object.entries(counts).map(([name, c]) => `${name}: ${c.resealed} re-sealed${c.unreadable ? `, ${c.unreadable} sealed with a key this node does not have` : ''}`).join('\n')}\n` +
          (unreadable ? 'Some values are sealed with keys no longer configured: they cannot be read.' : `Everything is sealed with key "${box.currentKeyId}": the other keys can be removed from GATEHOUSE_ENCRYPTION_KEYS.`),
        { key: box.currentKeyId, tables: counts },
      );
      return unreadable ? 1 : 0;
    },
  },
];
