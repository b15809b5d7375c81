// The credential epoch: one number per user, bumped by every credential change (password change and reset,
// invitation acceptance, email change, 2FA on/off, an authenticator added or removed, new recovery codes, an admin's
// 2FA reset, account disable). Everything that can still act for the user records the epoch it was born in: sign-ins
// in progress (authn_transactions.epoch), email links (email_tokens.epoch), and every provider row — interactions,
// sessions, grants, codes, tokens (oidc_payloads.credential_epoch). A row whose epoch differs from the user's is dead.
// One function bumps (and clears what it kills); one SQL predicate checks.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/database.ts';

/** what survives a bump: the session and the sign-in of the person making the change move to the new epoch */
export interface KeepAlive {
  /** the provider session's stored id (as listSessions and the session reader give it) */
  sessionId?: string;
  /** the interaction uid of the sign-in that is making the change (enrollment inside a sign-in) */
  authnUid?: string;
}

/** "the epoch in this row is the user's current one", for a row whose user id and epoch are in the given columns */
export function epochIsCurrent(userIdColumn: string, epochColumn: string): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(epochColumn)} = (SELECT u.credential_epoch FROM users u WHERE u.id = ${sql.ref(userIdColumn)})`;
}

/** the user's current epoch, as a subquery (for rows written now) */
export function currentEpoch(userId: string): RawBuilder<number> {
  return sql<number>`(SELECT u.credential_epoch FROM users u WHERE u.id = ${userId})`;
}

/**
 * Bumps the user's epoch inside the caller's transaction (the one making the credential change) and deletes what it
 * killed, so that nothing dead waits to be found by a check someone forgets: sign-ins in progress, pending
 * enrollments, unused email links of every purpose, and every provider row (interactions, sessions, grants, codes,
 * tokens). The caller's own session and sign-in, if named, carry on under the new epoch.
 */
export async function bumpCredentialEpoch(trx: Db, userId: string, keep: KeepAlive = {}): Promise<number> {
  const { credential_epoch: epoch } = await trx
    .updateTable('users')
    .set((eb) => ({ credential_epoch: eb('credential_epoch', '+', 1), updated_at: sql`now()` }))
    .where('id', '=', userId)
    .returning('credential_epoch')
    .executeTakeFirstOrThrow();

  let pendingSignIns = trx.deleteFrom('authn_transactions').where('user_id', '=', userId);
  if (keep.authnUid) pendingSignIns = pendingSignIns.where('uid', '!=', keep.authnUid);
  await pendingSignIns.execute();
  // only what was alive a moment ago carries on: a kept row still on an older epoch stays dead
  if (keep.authnUid) await trx.updateTable('authn_transactions').set({ epoch }).where('uid', '=', keep.authnUid).where('user_id', '=', userId).where('epoch', '=', epoch - 1).execute();

  await trx.updateTable('email_tokens').set({ used_at: sql`now()` }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
  // an authenticator shown but not yet confirmed (in this or another browser) must be started again
  await trx.deleteFrom('totp_credentials').where('user_id', '=', userId).where('confirmed_at', 'is', null).execute();
  // likewise a security key registered but not yet used once, and every WebAuthn challenge issued for the user
  await trx.deleteFrom('webauthn_credentials').where('user_id', '=', userId).where('confirmed_at', 'is', null).execute();
  await trx.deleteFrom('webauthn_challenges').where('user_id', '=', userId).execute();
  // a link to an upstream identity proposed to this account waits for a sign-in under the epoch it was proposed in
  await trx.deleteFrom('federation_pending_links').where('user_id', '=', userId).execute();

  // the provider rows that carry on: the session making the change, or — for a change made inside a sign-in — that
  // sign-in's interaction (its id is the uid) and the browser session it started from
  const keptRows = trx
    .selectFrom('oidc_payloads')
    .select(['model', 'id'])
    .where('account_id', '=', userId)
    .where('credential_epoch', '=', epoch - 1)
    .where((eb) => {
      const ors = [];
      if (keep.sessionId) ors.push(eb.and([eb('model', '=', 'Session'), eb('id', '=', keep.sessionId)]));
      if (keep.authnUid) {
        ors.push(eb.and([eb('model', '=', 'Interaction'), eb('id', '=', keep.authnUid)]));
        const startedFrom = eb.selectFrom('oidc_payloads as i').select(sql<string>`i.payload->'session'->>'uid'`.as('uid')).where('i.model', '=', 'Interaction').where('i.id', '=', keep.authnUid);
        ors.push(eb.and([eb('model', '=', 'Session'), eb('uid', '=', startedFrom)]));
      }
      return ors.length ? eb.or(ors) : eb.val(false);
    });
  const survivors = await keptRows.execute();
  let provider = trx.deleteFrom('oidc_payloads').where('account_id', '=', userId);
  for (const r of survivors) provider = provider.where((eb) => eb.not(eb.and([eb('model', '=', r.model), eb('id', '=', r.id)])));
  await provider.execute();
  for (const r of survivors) await trx.updateTable('oidc_payloads').set({ credential_epoch: epoch }).where('model', '=', r.model).where('id', '=', r.id).execute();
  return epoch;
}
