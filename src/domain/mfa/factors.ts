// A user's second factors as one set: authenticator apps (totp_credentials) and security keys or passkeys
// (webauthn_credentials), with the recovery codes that back them up. Removing "all factors" (2FA turned off, an
// admin's reset, an account taken over by its mailbox's owner) always means all of them.
import { sql, type ExpressionBuilder } from 'kysely';
import type { Database, Db } from '../../db/database.ts';
import { DomainError, NotFoundError } from '../errors.ts';

export type FactorRef = { kind: 'totp' | 'webauthn'; id: string };

/**
 * The second factor given with a password for a sensitive change: a code (authenticator or recovery code) typed in,
 * or a security key's assertion (the browser's JSON) over a challenge bound to the session.
 */
export interface SecondFactorProof {
  code?: string;
  assertion?: string;
}

export class FactorKindRequiredByPolicyError extends DomainError {
  constructor() {
    super('factor_required', 'Your organization accepts only security keys and passkeys: keep at least one on your account.', 409);
  }
}

export class RecoveryCodesNotViewableError extends NotFoundError {
  constructor() {
    super('recovery_codes_not_viewable', 'Recovery codes cannot be viewed again on this server: create new ones instead.');
  }
}

/** deletes every second factor of the user (and the recovery codes unless kept); call inside the change's transaction */
export async function removeAllFactors(trx: Db, userId: string, keep: { keepTotp?: string; keepKey?: string; keepRecoveryCodes?: boolean } = {}): Promise<void> {
  let totp = trx.deleteFrom('totp_credentials').where('user_id', '=', userId);
  if (keep.keepTotp) totp = totp.where('id', '!=', keep.keepTotp);
  await totp.execute();
  let keys = trx.deleteFrom('webauthn_credentials').where('user_id', '=', userId);
  if (keep.keepKey) keys = keys.where('id', '!=', keep.keepKey);
  await keys.execute();
  if (!keep.keepRecoveryCodes) await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
}

/** does the user have any confirmed second factor (read in the caller's transaction) */
export async function hasFactor(trx: Db, userId: string): Promise<boolean> {
  const row = await trx
    .selectNoFrom((eb) => [
      eb.or([
        eb.exists(eb.selectFrom('totp_credentials').select('id').where('user_id', '=', userId).where('confirmed_at', 'is not', null)),
        eb.exists(eb.selectFrom('webauthn_credentials').select('id').where('user_id', '=', userId).where('confirmed_at', 'is not', null)),
      ]).as('any'),
    ])
    .executeTakeFirstOrThrow();
  return Boolean(row.any);
}

/** "another confirmed factor than `except` remains", for the statement that deletes `except` */
export function anotherFactorRemains(userId: string, except: FactorRef) {
  return (eb: ExpressionBuilder<Database, keyof Database>) => {
    const totp = eb.selectFrom('totp_credentials as o').select((o) => o.fn.countAll<string>().as('n')).where('o.user_id', '=', userId).where('o.confirmed_at', 'is not', null);
    const keys = eb.selectFrom('webauthn_credentials as k').select((k) => k.fn.countAll<string>().as('n')).where('k.user_id', '=', userId).where('k.confirmed_at', 'is not', null);
    const others = sql<string>`(${except.kind === 'totp' ? totp.where('o.id', '!=', except.id) : totp}) + (${except.kind === 'webauthn' ? keys.where('k.id', '!=', except.id) : keys})`;
    return eb(others, '>', sql<string>`0`);
  };
}
