// `gatehouse user …`: accounts, by email address.
import type { UserSummary } from '../domain/users/user-admin.ts';
import { day, fields, flag, OPERATOR, str, table, UsageError, type Command, type Context } from './command.ts';

const email = { email: { type: 'string' } } as const;
const needEmail = (ctx: Context): string => str(ctx.v, 'email') ?? ctx.fail(`gatehouse ${ctx.name} needs --email`);

const json = (u: UserSummary) => ({ id: u.id, email: u.email, name: u.name, email_verified: u.emailVerified, has_password: u.hasPassword, disabled: u.disabled, second_factors: u.factors, created_at: u.createdAt });
const status = (u: UserSummary) => (u.disabled ? 'disabled' : !u.hasPassword ? 'no password' : 'active');

const UNVERIFIED =
  'The address is unverified: until its owner proves it (by following an invitation or a password-reset link), an organization admin who adds it sends an invitation instead, and a password reset removes any second factors set up on the account. Pass --email-verified if you vouch for the address.';

export const USER_COMMANDS: Command[] = [
  {
    noun: 'user',
    verb: 'list',
    args: '[--search TEXT]',
    summary: 'accounts (address, name, verified, second factors, status)',
    options: { search: { type: 'string' } },
    async run(ctx) {
      const users = await ctx.services.userAdmin.list(str(ctx.v, 'search'));
      ctx.print(
        users.length
          ? table(['EMAIL', 'NAME', 'VERIFIED', '2FA', 'STATUS', 'CREATED'], users.map((u) => [u.email, u.name ?? '-', u.emailVerified ? 'yes' : 'no', u.factors.join(',') || '-', status(u), day(u.createdAt)]))
          : 'No users.',
        { users: users.map(json) },
      );
      return 0;
    },
  },
  {
    noun: 'user',
    verb: 'show',
    args: '--email E',
    summary: 'one account: factors, recovery codes left, organizations',
    options: email,
    async run(ctx) {
      const u = await ctx.services.userAdmin.show(needEmail(ctx));
      ctx.print(
        fields([
          ['email', `${u.email}${u.emailVerified ? ' (verified)' : ' (unverified)'}`],
          ['name', u.name ?? '-'],
          ['id', u.id],
          ['status', status(u)],
          ['2FA', u.factors.length ? `${u.factors.join(', ')}; ${u.recoveryCodesLeft} recovery codes left` : 'off'],
          ['organizations', u.organizations.map((o) => `${o.slug} (${o.role}${o.pending ? ', invited' : ''})`).join(', ') || '-'],
          ['created', day(u.createdAt)],
          ['password set', day(u.passwordChangedAt)],
        ]),
        { ...json(u), recovery_codes_left: u.recoveryCodesLeft, organizations: u.organizations, password_changed_at: u.passwordChangedAt },
      );
      return 0;
    },
  },
  {
    noun: 'user',
    verb: 'create',
    args: '--email E [--name N] [--password-stdin] [--email-verified]',
    summary: 'creates an account',
    details: `  --password-stdin   read the password from stdin (on a terminal: asked twice, hidden)
  --email-verified   you vouch for the address (otherwise it is unverified until its owner proves it)
Without a password the person gets in through an invitation (gatehouse user invite) or a password reset.`,
    options: { ...email, name: { type: 'string' }, 'password-stdin': { type: 'boolean' }, 'email-verified': { type: 'boolean' } },
    async run(ctx) {
      const address = needEmail(ctx);
      const password = flag(ctx.v, 'password-stdin') ? await ctx.readPassword() : undefined;
      const verified = flag(ctx.v, 'email-verified');
      const user = await ctx.services.users.create({ email: address, name: str(ctx.v, 'name'), password, emailVerified: verified });
      const lines = [`Created user ${user.email} (sub ${user.id}).`];
      if (!password) lines.push(`It has no password: send an invitation (gatehouse user invite --email ${user.email}), or the person uses "Forgot your password?" on the sign-in page.`);
      if (!verified) lines.push(UNVERIFIED);
      ctx.print(lines.join('\n'), { id: user.id, sub: user.id, email: user.email, name: user.name, email_verified: verified, has_password: Boolean(password) });
      return 0;
    },
  },
  {
    noun: 'user',
    verb: 'invite',
    args: '--email E',
    summary: 'emails an invitation link (the person chooses a password; the address counts as verified)',
    options: email,
    sendsMail: true,
    async run(ctx) {
      const user = await ctx.services.accounts.invite(needEmail(ctx), OPERATOR);
      await ctx.drainOutbox();
      ctx.print(`Invitation sent to ${user.email}.`, { id: user.id, email: user.email });
      return 0;
    },
  },
  {
    noun: 'user',
    verb: 'update',
    args: '--email E [--name N] [--new-email E2] [--email-verified|--email-unverified]',
    summary: 'name, address, whether you vouch for the address',
    details: 'A new address is unverified unless --email-verified is given, and moving it signs the person out everywhere.',
    options: { ...email, name: { type: 'string' }, 'new-email': { type: 'string' }, 'email-verified': { type: 'boolean' }, 'email-unverified': { type: 'boolean' } },
    async run(ctx) {
      const address = needEmail(ctx);
      if (flag(ctx.v, 'email-verified') && flag(ctx.v, 'email-unverified')) ctx.fail('give --email-verified or --email-unverified, not both');
      const emailVerified = flag(ctx.v, 'email-verified') ? true : flag(ctx.v, 'email-unverified') ? false : undefined;
      const input = { name: str(ctx.v, 'name'), newEmail: str(ctx.v, 'new-email'), emailVerified };
      if (Object.values(input).every((x) => x === undefined)) ctx.fail('nothing to change: give --name, --new-email, --email-verified or --email-unverified');
      const u = await ctx.services.userAdmin.update(address, input, OPERATOR);
      ctx.print(`Updated ${u.email}: name ${u.name ?? '-'}, address ${u.emailVerified ? 'verified' : 'unverified'}.`, json(u));
      return 0;
    },
  },
  ...(['disable', 'enable'] as const).map(
    (verb): Command => ({
      noun: 'user',
      verb,
      args: '--email E',
      summary: verb === 'disable' ? 'the person cannot sign in; every session, token, sign-in in progress and emailed link ends' : 'lets a disabled person sign in again (nothing that ended comes back)',
      options: email,
      async run(ctx) {
        const user = await ctx.services.users.setDisabled(needEmail(ctx), verb === 'disable', OPERATOR);
        ctx.print(verb === 'disable' ? `Disabled ${user.email}: signed out everywhere; cannot sign in.` : `Enabled ${user.email}.`, { id: user.id, email: user.email, disabled: verb === 'disable' });
        return 0;
      },
    }),
  ),
  {
    noun: 'user',
    verb: 'delete',
    args: '--email E [--yes]',
    summary: 'deletes the account: sessions and tokens end, factors and memberships go (the audit log stays)',
    details: 'Asks for confirmation on a terminal; elsewhere needs --yes. The only owner of an organization is not deleted.',
    options: { ...email, yes: { type: 'boolean' } },
    async run(ctx) {
      const address = needEmail(ctx);
      const u = await ctx.services.userAdmin.show(address);
      if (!(await ctx.confirm(`Delete ${u.email}${u.organizations.length ? `, member of ${u.organizations.map((o) => o.slug).join(', ')}` : ''}? Their sessions and tokens end at once; this cannot be undone.`))) {
        ctx.note('Nothing deleted.');
        return 1;
      }
      const r = await ctx.services.userAdmin.delete(address, OPERATOR);
      ctx.print(`Deleted ${r.email}: signed out everywhere, every token revoked.`, { id: r.id, email: r.email, deleted: true });
      return 0;
    },
  },
  {
    noun: 'user',
    verb: 'set-password',
    args: '--email E [--password-stdin]',
    summary: 'sets a new password (from stdin; asked twice, hidden, on a terminal); signs the person out everywhere and mails them',
    options: { ...email, 'password-stdin': { type: 'boolean' } },
    sendsMail: true,
    async run(ctx) {
      const address = needEmail(ctx);
      const password = await ctx.readPassword();
      const u = await ctx.services.userAdmin.setPassword(address, password, OPERATOR);
      await ctx.drainOutbox();
      ctx.print(`New password set for ${u.email}; they were signed out everywhere and told by mail.`, json(u));
      return 0;
    },
  },
  {
    noun: 'user',
    verb: 'reset-2fa',
    args: '--email E --reason TEXT',
    summary: 'break-glass: removes every second factor and recovery code, signs the person out, audits and mails it',
    details: 'The same reset an organization admin makes from the console, with you as the actor ("operator (CLI)").',
    options: { ...email, reason: { type: 'string' } },
    sendsMail: true,
    async run(ctx) {
      const address = needEmail(ctx);
      const reason = str(ctx.v, 'reason');
      if (!reason?.trim()) throw new UsageError('gatehouse user reset-2fa needs --reason (it goes to the audit log)');
      const { user, hadFactors } = await ctx.services.userAdmin.resetTwoFactor(address, reason, OPERATOR);
      await ctx.drainOutbox();
      ctx.print(`${hadFactors ? 'Removed every second factor of' : 'No second factor to remove, but signed out'} ${user.email}; signed out everywhere and told by mail.`, { ...json(user), had_factors: hadFactors });
      return 0;
    },
  },
];
