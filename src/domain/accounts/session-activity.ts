// "Last active" of a sign-in session, for the sessions list. Stamped when the session is used to authorize an app
// or to open the account pages; never on the token endpoint (a refresh token is not its session being used, and
// that path stays free of extra writes).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { sqlNow, type Clock } from '../clock.ts';

/** the list shows minutes at best: a session's stamp moves at most this often */
export const ACTIVITY_RESOLUTION_SECONDS = 300;

/** how many sessions this node remembers stamping (beyond it the memory starts over: at worst one more write each) */
const REMEMBERED = 10_000;

export function createSessionActivity(deps: { db: Kysely<Database>; clock: Clock }) {
  // per node, the last stamp written for each session: a session used many times a minute costs no statement at
  // all until its stamp is due. Another node may stamp it meanwhile; the statement's own condition then makes the
  // second one a no-op, so several nodes cost at most one write each per period.
  const stamped = new Map<string, number>();

  return {
    /**
     * the session (its stored id) was used now; at most one UPDATE per session per period and node. `signedInAt`:
     * the session's sign-in, which the list shows while there is no stamp; within a period of it a stamp says nothing
     * more (the first authorization right after a sign-in costs no statement)
     */
    async touch(sessionId: string, signedInAt?: Date): Promise<void> {
      const now = deps.clock.now().getTime();
      const last = Math.max(stamped.get(sessionId) ?? -Infinity, signedInAt?.getTime() ?? -Infinity);
      if (now - last < ACTIVITY_RESOLUTION_SECONDS * 1000) return;
      if (stamped.size >= REMEMBERED) stamped.clear();
      stamped.set(sessionId, now);
      await deps.db
        .updateTable('oidc_payloads')
        .set({ last_active_at: sqlNow(deps.clock) })
        .where('model', '=', 'Session')
        .where('id', '=', sessionId)
        .where((eb) => eb.or([eb('last_active_at', 'is', null), eb('last_active_at', '<', sql<Date>`${sqlNow(deps.clock)} - make_interval(secs => ${ACTIVITY_RESOLUTION_SECONDS})`)]))
        .execute();
    },
  };
}

export type SessionActivity = ReturnType<typeof createSessionActivity>;
