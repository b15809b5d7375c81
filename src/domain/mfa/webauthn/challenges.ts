// WebAuthn challenges live on the server: random, single-use (taken by one DELETE … RETURNING), five minutes, and
// bound to what asked for them (an interaction uid or a session id) and to a purpose. One live challenge per binding
// and purpose: asking again replaces it, so the table holds at most a few rows per sign-in or session.
import { sql } from 'kysely';
import type { Db } from '../../../db/database.ts';
import { sqlNow, type Clock } from '../../clock.ts';

export const CHALLENGE_TTL_SECONDS = 300;

export type ChallengePurpose = 'register' | 'activate' | 'second_factor' | 'passkey' | 'confirm';

export interface StoredChallenge {
  challenge: string;
  userId: string | null;
  data: Record<string, unknown>;
}

export async function storeChallenge(db: Db, clock: Clock, c: { binding: string; purpose: ChallengePurpose; userId: string | null; challenge: string; data?: Record<string, unknown> }): Promise<void> {
  const now = sqlNow(clock);
  await db.deleteFrom('webauthn_challenges').where('expires_at', '<=', now).execute();
  await db
    .insertInto('webauthn_challenges')
    .values({ binding: c.binding, purpose: c.purpose, user_id: c.userId, challenge: c.challenge, data: JSON.stringify(c.data ?? {}), expires_at: sql`${now} + make_interval(secs => ${CHALLENGE_TTL_SECONDS})` })
    .onConflict((oc) =>
      oc.columns(['binding', 'purpose']).doUpdateSet((eb) => ({
        user_id: eb.ref('excluded.user_id'),
        challenge: eb.ref('excluded.challenge'),
        data: eb.ref('excluded.data'),
        expires_at: eb.ref('excluded.expires_at'),
      })),
    )
    .execute();
}

/** the live challenge of this binding and purpose, removed as it is read: a second use finds nothing */
export async function takeChallenge(db: Db, clock: Clock, binding: string, purpose: ChallengePurpose): Promise<StoredChallenge | null> {
  const row = await db
    .deleteFrom('webauthn_challenges')
    .where('binding', '=', binding)
    .where('purpose', '=', purpose)
    .where('expires_at', '>', sqlNow(clock))
    .returning(['challenge', 'user_id', 'data'])
    .executeTakeFirst();
  return row ? { challenge: row.challenge, userId: row.user_id, data: row.data } : null;
}
