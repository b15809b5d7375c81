// "Your token expires in 3 days": one mail per token, sent by whichever node claims it first (SKIP LOCKED), in the
// same transaction that marks it notified, so no token is mailed twice and none is forgotten.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { epochIsCurrent } from '../accounts/credential-epoch.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { sqlNow, type Clock } from '../clock.ts';
import type { Outbox } from '../email/outbox.ts';

export const REMIND_BEFORE_DAYS = 3;

export async function remindExpiringTokens(deps: { db: Kysely<Database>; clock: Clock; outbox: Outbox; issuer: string }, limit = 100): Promise<number> {
  const now = sqlNow(deps.clock);
  return deps.db.transaction().execute(async (trx) => {
    const due = await trx
      .selectFrom('personal_tokens as p')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .select(['p.id', 'p.name', 'p.expires_at', 'p.user_id', 'u.email', 'u.name as user_name'])
      .where('p.expiry_notified_at', 'is', null)
      .where('p.revoked_at', 'is', null)
      .where('p.expires_at', '>', now)
      .where('p.expires_at', '<=', sql<Date>`${now} + make_interval(days => ${REMIND_BEFORE_DAYS})`)
      // a token made for less than the reminder window was chosen short on purpose: no reminder
      .where('p.created_at', '<', sql<Date>`p.expires_at - make_interval(days => ${REMIND_BEFORE_DAYS})`)
      .where(epochIsCurrent('p.user_id', 'p.epoch'))
      .limit(limit)
      .forUpdate('p')
      .skipLocked()
      .execute();
    for (const t of due) {
      await trx.updateTable('personal_tokens').set({ expiry_notified_at: now }).where('id', '=', t.id).execute();
      await deps.outbox.enqueue(trx, t.email, 'security-notice', {
        kind: 'personal_token_expiring',
        vars: { name: t.name, date: t.expires_at.toISOString().slice(0, 10) },
        title: 'personal access token expires soon',
        message: `Your personal access token "${t.name}" expires on ${t.expires_at.toISOString().slice(0, 10)}. Create a new one on your account page if you still need it.`,
        name: t.user_name,
        email: t.email,
        at: deps.clock.now().toISOString(),
        issuer: deps.issuer,
      });
      await recordAudit(trx, { event: 'personal_token.expiry_notified', targetUserId: t.user_id, data: { tokenId: t.id } });
    }
    return due.length;
  });
}
