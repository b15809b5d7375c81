// Links sent by email carry a 256-bit random token; only its SHA-256 is stored, and it is consumed by one
// conditional UPDATE (single use, expiry checked by the clock in SQL, dead once the user's credential epoch moved).
import { sql } from 'kysely';
import type { Db, EmailTokenPurpose } from '../../db/database.ts';
import { sqlNow, type Clock } from '../clock.ts';
import { randomToken, sha256Hex } from '../crypto/tokens.ts';
import { currentEpoch, epochIsCurrent } from './credential-epoch.ts';

export const TOKEN_TTL_SECONDS: Record<EmailTokenPurpose, number> = {
  reset_password: 3600,
  verify_email: 24 * 3600,
  change_email: 24 * 3600,
  invite: 7 * 24 * 3600,
  join_tenant: 7 * 24 * 3600,
};

/** a new token; earlier unused tokens of the same purpose for the user stop working */
export async function issueEmailToken(trx: Db, clock: Clock, userId: string, purpose: EmailTokenPurpose, newEmail?: string, tenantId?: string): Promise<string> {
  const token = randomToken(32);
  let earlier = trx.updateTable('email_tokens').set({ used_at: sqlNow(clock) }).where('user_id', '=', userId).where('purpose', '=', purpose).where('used_at', 'is', null);
  if (tenantId) earlier = earlier.where('tenant_id', '=', tenantId);
  await earlier.execute();
  await trx
    .insertInto('email_tokens')
    .values({
      user_id: userId,
      purpose,
      token_sha256: sha256Hex(token),
      new_email: newEmail ?? null,
      tenant_id: tenantId ?? null,
      // on the same clock as the expiry: the resend throttle counts links by it
      created_at: sqlNow(clock),
      expires_at: sql`${sqlNow(clock)} + make_interval(secs => ${TOKEN_TTL_SECONDS[purpose]})`,
      epoch: currentEpoch(userId),
    })
    .execute();
  return token;
}

/** is the token good (for showing a form), without using it */
export async function peekEmailToken(db: Db, clock: Clock, token: string, purpose: EmailTokenPurpose): Promise<{ userId: string; tenantId: string | null } | null> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
  const row = await db
    .selectFrom('email_tokens')
    .select(['user_id', 'tenant_id'])
    .where('token_sha256', '=', sha256Hex(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sqlNow(clock))
    .where(epochIsCurrent('user_id', 'epoch'))
    .executeTakeFirst();
  return row ? { userId: row.user_id, tenantId: row.tenant_id } : null;
}

export async function consumeEmailToken(db: Db, clock: Clock, token: string, purpose: EmailTokenPurpose): Promise<{ userId: string; newEmail: string | null; tenantId: string | null } | null> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
  const row = await db
    .updateTable('email_tokens')
    .set({ used_at: sqlNow(clock) })
    .where('token_sha256', '=', sha256Hex(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sqlNow(clock))
    .where(epochIsCurrent('user_id', 'epoch'))
    .returning(['user_id', 'new_email', 'tenant_id'])
    .executeTakeFirst();
  return row ? { userId: row.user_id, newEmail: row.new_email, tenantId: row.tenant_id } : null;
}

export type LinkState = 'valid' | 'used' | 'expired' | 'unknown';

/** why a link no longer works (for the page that offers the next step); `userId` of a link that was real */
export async function linkState(db: Db, clock: Clock, token: string, purpose: EmailTokenPurpose): Promise<{ state: LinkState; userId: string | null }> {
  if (!/^[A-Za-z0-9_-]{20,100}$/.test(token)) return { state: 'unknown', userId: null };
  const row = await db
    .selectFrom('email_tokens')
    .select(['user_id', 'used_at'])
    .select((eb) => eb(eb.ref('expires_at'), '>', sqlNow(clock)).as('fresh'))
    .select(epochIsCurrent('user_id', 'epoch').as('current'))
    .where('token_sha256', '=', sha256Hex(token))
    .where('purpose', '=', purpose)
    .executeTakeFirst();
  if (!row) return { state: 'unknown', userId: null };
  const state: LinkState = row.used_at ? 'used' : !row.fresh || !row.current ? 'expired' : 'valid';
  return { state, userId: row.user_id };
}
