// `gatehouse tenant …`: organizations, by slug.
import type { TenantRole } from '../db/database.ts';
import type { TenantSummary } from '../domain/tenants/tenant-admin.ts';
import { ROLES } from '../domain/tenants/tenant.service.ts';
import { fields, flag, OPERATOR, plural, str, table, when, type Command, type Context } from './command.ts';

const json = (t: TenantSummary) => ({ slug: t.slug, name: t.name, members: t.members, invited: t.invited, apps: t.apps, require_2fa: t.require2fa, enforce_from: t.enforceFrom, disabled: t.disabled, created_at: t.createdAt });
const needSlug = (ctx: Context): string => ctx.target ?? ctx.fail(`gatehouse ${ctx.name} needs the organization's slug: gatehouse ${ctx.name} acme …`);
const policy = (t: { require2fa: boolean; enforceFrom: Date | null }) => (t.require2fa ? `required${t.enforceFrom ? ` from ${when(t.enforceFrom)}` : ''}` : 'not required');

/** --from: a day (midnight UTC), a full ISO time, or now (null) */
function parseFrom(ctx: Context, raw: string): Date | null {
  if (raw === 'now') return null;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(raw) ? `${raw}T00:00:00Z` : raw);
  return Number.isNaN(d.getTime()) ? ctx.fail('--from must be a date (YYYY-MM-DD), a time (ISO 8601) or now') : d;
}

export const TENANT_COMMANDS: Command[] = [
  {
    noun: 'tenant',
    verb: 'list',
    args: '',
    summary: 'organizations (members, pending invitations, apps, 2FA rule, status)',
    options: {},
    async run(ctx) {
      const all = await ctx.services.tenantAdmin.list();
      ctx.print(
        all.length
          ? table(['SLUG', 'NAME', 'MEMBERS', 'INVITED', 'APPS', '2FA', 'STATUS'], all.map((t) => [t.slug, t.name, String(t.members), String(t.invited), String(t.apps), policy(t), t.disabled ? 'disabled' : 'active']))
          : 'No organizations.',
        { tenants: all.map(json) },
      );
      return 0;
    },
  },
  {
    noun: 'tenant',
    verb: 'show',
    args: 'SLUG',
    positional: 'SLUG',
    summary: 'one organization: policy and members with their 2FA state',
    options: {},
    async run(ctx) {
      const slug = needSlug(ctx);
      const t = await ctx.services.tenants.bySlug(slug);
      const s = await ctx.services.tenantAdmin.summary(slug);
      const { members, coverage } = await ctx.services.tenants.members(t);
      const rows = members.map((m) => [m.email, m.role, m.invitationPending ? 'invited' : m.state.replace('_', ' '), m.factors.join(',') || '-', when(m.lastSignInAt)]);
      ctx.print(
        `${fields([
          ['organization', `${t.slug} (${t.name})${s.disabled ? ', disabled' : ''}`],
          ['2FA', `${policy(t)}; ${t.secondFactors.includes('totp') ? 'any second factor' : 'security keys and passkeys only'}`],
          ['sign-in methods', t.allowedMethods.join(', ')],
          ['apps', String(s.apps)],
          ['coverage', `${coverage.enrolled} of ${coverage.total} members have a second factor it accepts`],
        ])}\n\n${rows.length ? table(['MEMBER', 'ROLE', 'STATE', '2FA', 'LAST SIGN-IN'], rows) : 'No members.'}`,
        { ...json(s), allowed_methods: t.allowedMethods, second_factors: t.secondFactors, coverage, members: members.map((m) => ({ email: m.email, role: m.role, state: m.state, invitation_pending: m.invitationPending, factors: m.factors, last_sign_in_at: m.lastSignInAt })) },
      );
      return 0;
    },
  },
  {
    noun: 'tenant',
    verb: 'create',
    args: '--slug S --name N',
    summary: 'creates an organization',
    options: { slug: { type: 'string' }, name: { type: 'string' } },
    async run(ctx) {
      const slug = str(ctx.v, 'slug');
      const name = str(ctx.v, 'name');
      if (!slug || !name) return ctx.fail('gatehouse tenant create needs --slug and --name');
      const t = await ctx.services.tenants.create({ slug, name }, OPERATOR);
      ctx.print(`Created organization ${t.slug} (${t.name}).`, { id: t.id, slug: t.slug, name: t.name });
      return 0;
    },
  },
  {
    noun: 'tenant',
    verb: 'update',
    args: 'SLUG [--name N] [--require-2fa on|off] [--from YYYY-MM-DD|now] [--second-factors any|security-keys] [--token-max-days N|default [--shorten-existing]] [--yes]',
    positional: 'SLUG',
    summary: 'name, 2FA requirement (with a start date: the grace period), second factors that count, token lifetime',
    details: `  --from DATE     members without 2FA set it up at their first sign-in after DATE (midnight UTC); now: at once.
                  A date in the past applies at once: asked first on a terminal, elsewhere needs --yes.
  --token-max-days N   the longest life of access tokens bound to it (default: the deployment's)`,
    options: {
      name: { type: 'string' },
      'require-2fa': { type: 'string' },
      from: { type: 'string' },
      'second-factors': { type: 'string' },
      'token-max-days': { type: 'string' },
      'shorten-existing': { type: 'boolean' },
      yes: { type: 'boolean' },
    },
    async run(ctx) {
      const { v, services } = ctx;
      const slug = needSlug(ctx);
      const required = str(v, 'require-2fa');
      if (required !== undefined && required !== 'on' && required !== 'off') ctx.fail('--require-2fa must be on or off');
      const rawFrom = str(v, 'from');
      const from = rawFrom === undefined ? undefined : parseFrom(ctx, rawFrom);
      const factors = str(v, 'second-factors');
      if (factors !== undefined && factors !== 'any' && factors !== 'security-keys') ctx.fail('--second-factors must be any or security-keys');
      const maxDaysFlag = str(v, 'token-max-days');
      const tokenMaxDays = maxDaysFlag === undefined ? undefined : maxDaysFlag === 'default' ? null : /^\d+$/.test(maxDaysFlag) ? Number(maxDaysFlag) : ctx.fail('--token-max-days must be a number of days (or default)');
      const name = str(v, 'name');
      if ([name, required, rawFrom, factors, maxDaysFlag].every((x) => x === undefined)) ctx.fail('nothing to change: give --name, --require-2fa, --from, --second-factors or --token-max-days');
      let t = await services.tenants.bySlug(slug);
      const secondFactors = factors === undefined ? undefined : factors === 'any' ? ['totp', 'webauthn'] : ['webauthn'];
      const willRequire = required === undefined ? t.require2fa : required === 'on';
      if (from && willRequire && from.getTime() <= services.clock.now().getTime()) {
        const blocked = await services.tenants.wouldBeBlocked(t, secondFactors as never);
        const question = `${rawFrom} is in the past: the requirement applies at once, with no grace period. ${plural(blocked.length, 'member')} without an accepted second factor must set one up at their next sign-in. Apply?`;
        if (!(await ctx.confirm(question))) {
          ctx.note('Nothing changed.');
          return 1;
        }
      }
      if (name !== undefined) await services.tenantAdmin.rename(slug, name, OPERATOR);
      if (required !== undefined || from !== undefined || secondFactors !== undefined) {
        t = await services.tenants.updatePolicy(t, { require2fa: required === undefined ? undefined : required === 'on', enforceFrom: from, secondFactors }, null, OPERATOR);
      }
      const tokens = tokenMaxDays === undefined ? undefined : await services.tokenPolicy.set(t.id, tokenMaxDays, flag(v, 'shorten-existing'), null, OPERATOR);
      const maxDays = (await services.tokenPolicy.get(t.id)).maxDays;
      const shortened = tokens?.shortened ?? 0;
      ctx.print(
        `${t.slug}${name !== undefined ? ` (${name.trim()})` : ''}: 2FA ${policy(t)}; access tokens last at most ${maxDays ?? services.tokenPolicy.deploymentMaxDays} days${shortened ? ` (${plural(shortened, 'existing token')} shortened)` : ''}.`,
        { slug: t.slug, name: name?.trim() ?? t.name, require_2fa: t.require2fa, enforce_from: t.enforceFrom, token_max_days: maxDays, shortened },
      );
      return 0;
    },
  },
  ...(['disable', 'enable'] as const).map(
    (verb): Command => ({
      noun: 'tenant',
      verb,
      args: 'SLUG',
      positional: 'SLUG',
      summary: verb === 'disable' ? "its private apps stop (their tokens are deleted); members keep their accounts" : 'its private apps work again',
      options: {},
      async run(ctx) {
        const { tenant, revoked } = await ctx.services.tenantAdmin.setDisabled(needSlug(ctx), verb === 'disable', OPERATOR);
        ctx.print(verb === 'disable' ? `Disabled ${tenant.slug}: its ${plural(tenant.apps, 'app')} stopped; ${plural(revoked, 'token')} deleted.` : `Enabled ${tenant.slug}.`, { ...json(tenant), revoked });
        return 0;
      },
    }),
  ),
  {
    noun: 'tenant',
    verb: 'delete',
    args: 'SLUG [--yes]',
    positional: 'SLUG',
    summary: 'deletes an organization with its memberships, invitations and private apps; members keep their accounts',
    details: 'Asks for confirmation on a terminal; elsewhere needs --yes.',
    options: { yes: { type: 'boolean' } },
    async run(ctx) {
      const slug = needSlug(ctx);
      const s = await ctx.services.tenantAdmin.summary(slug);
      if (!(await ctx.confirm(`Delete ${s.slug} (${s.name}) with its ${plural(s.members, 'membership')} and ${plural(s.apps, 'app')}? This cannot be undone.`))) {
        ctx.note('Nothing deleted.');
        return 1;
      }
      await ctx.services.tenantAdmin.delete(slug, OPERATOR);
      ctx.print(`Deleted ${s.slug}: ${plural(s.members, 'membership')} and ${plural(s.apps, 'app')} went with it; the accounts stay.`, { ...json(s), deleted: true });
      return 0;
    },
  },
  {
    noun: 'tenant',
    verb: 'add-member',
    args: 'SLUG --email E --role owner|admin|member',
    positional: 'SLUG',
    summary: 'adds a member (an unknown address is invited)',
    options: { email: { type: 'string' }, role: { type: 'string' } },
    sendsMail: true,
    async run(ctx) {
      const slug = needSlug(ctx);
      const email = str(ctx.v, 'email');
      const role = str(ctx.v, 'role');
      if (!email || !role) return ctx.fail('gatehouse tenant add-member needs --email and --role');
      if (!ROLES.includes(role as TenantRole)) ctx.fail(`--role must be one of ${ROLES.join(', ')}`);
      const t = await ctx.services.tenants.bySlug(slug);
      const r = await ctx.services.tenants.addMember(t, email, role as TenantRole, null, OPERATOR);
      await ctx.drainOutbox();
      ctx.print(r.invited ? `Invited ${email} to ${t.slug} as ${role}; they join when they accept.` : `${email} is now ${role} of ${t.slug}.`, { user_id: r.userId, invited: r.invited });
      return 0;
    },
  },
  {
    noun: 'tenant',
    verb: 'remove-member',
    args: 'SLUG --email E',
    positional: 'SLUG',
    summary: 'removes a member or a pending invitation (an organization keeps at least one owner)',
    options: { email: { type: 'string' } },
    async run(ctx) {
      const slug = needSlug(ctx);
      const email = str(ctx.v, 'email') ?? ctx.fail('gatehouse tenant remove-member needs --email');
      await ctx.services.tenantAdmin.removeMember(slug, email, OPERATOR);
      ctx.print(`Removed ${email} from ${slug}.`, { slug, email, removed: true });
      return 0;
    },
  },
  {
    noun: 'tenant',
    verb: 'methods',
    args: 'SLUG --methods password,NAME,…',
    positional: 'SLUG',
    summary: 'the sign-in methods the organization allows: password and upstream provider names',
    options: { methods: { type: 'string' } },
    async run(ctx) {
      const slug = needSlug(ctx);
      const methods = str(ctx.v, 'methods') ?? ctx.fail('gatehouse tenant methods needs --methods: --methods password,google');
      const t = await ctx.services.tenants.bySlug(slug);
      const updated = await ctx.services.tenants.updatePolicy(t, { allowedMethods: methods.split(',').map((m) => m.trim()).filter(Boolean) }, null, OPERATOR);
      ctx.print(`${updated.slug}: members sign in with ${updated.allowedMethods.join(', ')}.`, { slug: updated.slug, allowed_methods: updated.allowedMethods });
      return 0;
    },
  },
];
