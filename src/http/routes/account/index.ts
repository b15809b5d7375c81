import type { FastifyInstance } from 'fastify';
import { scopeLabels } from '../../../oidc/interactions.ts';
import { page, type AccountDeps } from './deps.ts';
import { describeEvent, phraseText } from '../../../domain/audit/audit-sentences.ts';
import { translate } from '../../locale.ts';
import { ACCOUNT_CLIENT_ID } from '../../../domain/clients/client.service.ts';
import { describeUserAgent, type DeviceWords } from '../../../domain/accounts/user-agent.ts';
import { ACTIVITY_RESOLUTION_SECONDS } from '../../../domain/accounts/session-activity.ts';
import { day, dayTime } from '../admin/deps.ts';
import { currentLocale, doneMessage } from '../../locale.ts';
import { formatAgo } from '../../../i18n/catalogue.ts';

/** browser and system in the page's language: the names stay, the words around them are the catalogue's */
const deviceWords = (): DeviceWords => ({
  browserOn: (browser, system) => translate('account.browserOn', { browser, system }),
  aBrowserOn: (system) => translate('account.aBrowserOn', { system }),
});

/**
 * "Last active 2 hours ago": this browser is active now, and so is a session stamped within the stamp's resolution
 * (the list cannot know better); a week and older gives the day.
 */
function lastActive(at: Date | null, current: boolean, now: Date) {
  const seen = current ? now : at;
  if (!seen) return null;
  const marks = { iso: seen.toISOString(), full: dayTime(seen) };
  if (now.getTime() - seen.getTime() < ACTIVITY_RESOLUTION_SECONDS * 1000) return { ...marks, text: translate('account.activeNow') };
  const ago = formatAgo(seen, now, currentLocale());
  return { ...marks, text: ago ? translate('account.lastActiveAgo', { when: ago }) : translate('account.lastActiveOn', { when: day(seen) }) };
}

/** what the account page shows besides the user: 2FA status, sessions, apps */
export async function accountView(deps: AccountDeps, userId: string, currentSessionId: string | null) {
  const [status, sessions, apps, organizations, activity] = await Promise.all([
    deps.twoFactor.status(userId),
    deps.accounts.sessions(userId),
    deps.accounts.grants(userId),
    deps.tenantsForUser(userId),
    deps.activity(userId),
  ]);
  // "Turn off" is not offered while an organization requires 2FA; the page names it
  const names = await deps.accounts.appNames([...new Set(sessions.flatMap((s) => s.apps))]);
  const origins = await deps.accounts.sessionOrigins(userId, sessions.flatMap((s) => (s.signedInAt ? [Math.floor(s.signedInAt.getTime() / 1000)] : [])));
  const originOf = (s: { signedInAt: Date | null }) => (s.signedInAt ? origins.get(Math.floor(s.signedInAt.getTime() / 1000)) : undefined);
  const words = deviceWords();
  const now = deps.clock.now();
  const turnOffBlockedBy = status.enabled ? await deps.mfaPolicy.removalBlockedBy(userId, []) : [];
  const linked = deps.links ? { linkedProviders: await deps.links.list(userId), hasPassword: await deps.links.hasPassword(userId) } : {};
  return {
    status,
    // this browser first
    // the apps each session signed in to (the account page itself is not an app)
    sessions: sessions
      .map((s) => ({
        ...s,
        current: s.id === currentSessionId,
        appNames: s.apps.filter((id) => id !== ACCOUNT_CLIENT_ID).map((id) => names.get(id) ?? id),
        device: describeUserAgent(originOf(s)?.userAgent, words),
        ip: originOf(s)?.ip ?? null,
        lastActive: lastActive(s.lastActiveAt, s.id === currentSessionId, now),
      }))
      .sort((a, b) => Number(b.current) - Number(a.current) || (b.lastActiveAt?.getTime() ?? 0) - (a.lastActiveAt?.getTime() ?? 0)),
    apps: apps.map((a) => ({ ...a, permissions: scopeLabels(a.scope.split(' ').filter(Boolean)).map((l) => l.label).join(' · ') })),
    administers: organizations.filter((o) => o.role === 'owner' || o.role === 'admin'),
    recoveryCodesViewable: deps.recoveryCodesViewable,
    turnOffBlockedBy,
    activity: activity.map((e) => ({ id: e.id, event: e.event, sentence: phraseText(describeEvent(e), translate), at: { iso: e.at.toISOString(), text: dayTime(e.at) }, ip: e.ip })),
    ...linked,
  };
}

/** GET /account: profile summary and the two-factor section. */
export default async function accountIndex(app: FastifyInstance, deps: AccountDeps) {
  app.get<{ Querystring: { done?: string } }>(
    '/account',
    { schema: { querystring: { type: 'object', properties: { done: { type: 'string', maxLength: 32 } } } } },
    async (req, reply) => {
      const user = req.accountUser!;
      return page(
        reply,
        deps.render('account/index.njk', {
          ...(await accountView(deps, user.id, req.accountSessionId)),
          user,
          csrfToken: reply.generateCsrf(),
          flash: doneMessage('account', req.query.done),
        }),
      );
    },
  );
}
