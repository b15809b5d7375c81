// Adding a security key or passkey, from the account page or inside a sign-in: the key is registered (pending), then
// signs once over a fresh challenge, and only then counts as a factor. Activation moves the credential epoch in the
// same transaction (keeping the caller's session or sign-in), issues recovery codes for a first factor, and is
// audited and mailed. Removal follows the authenticators' rules (two-factor.service.ts `removeKey`).
import type { Kysely } from 'kysely';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import type { Database } from '../../db/database.ts';
import { bumpCredentialEpoch } from '../accounts/credential-epoch.ts';
import { sqlNow, type Clock } from '../clock.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import { DomainError, ValidationError } from '../errors.ts';
import type { RequestMeta, User } from '../users/user.service.ts';
import { hasFactor, removeAllFactors } from './factors.ts';
import { issueRecoveryCodes } from './recovery-codes.ts';
import type { SecurityRecorder } from './security-notice.ts';
import { FactorAlreadyActiveError, SignInChangedError, type SecondFactorProof, type SignInContext, type TwoFactorService } from './two-factor.service.ts';
import type { WebAuthn } from './webauthn/webauthn.service.ts';

export class KeyNotAcceptedError extends ValidationError {
  constructor() {
    super('key_not_accepted', 'Your security key did not complete the request. Try again; if it keeps failing, start over.');
  }
}

export class SessionRequiredError extends DomainError {
  constructor() {
    super('session_required', 'Sign in again to add a security key.', 401);
  }
}

export function createSecurityKeys(deps: {
  db: Kysely<Database>;
  clock: Clock;
  webauthn: WebAuthn;
  twoFactor: TwoFactorService;
  record: SecurityRecorder;
  box: SecretBox;
  recoveryCodesViewable: boolean;
}) {
  const { db, webauthn } = deps;
  const sealing = deps.recoveryCodesViewable ? { box: deps.box } : undefined;

  return {
    /**
     * From the account page: the password (and a current second factor once 2FA is on), then the options to create
     * a key. The ceremony is bound to the session making the request.
     */
    async startAdd(user: User, password: string, proof: SecondFactorProof, name: string, meta: RequestMeta): Promise<PublicKeyCredentialCreationOptionsJSON> {
      if (!meta.sessionId) throw new SessionRequiredError();
      await deps.twoFactor.confirmToAdd(user, password, proof, meta);
      return webauthn.registrationOptions(user, meta.sessionId, { name: name.trim().slice(0, 60) });
    },

    /** the browser's registration: stored pending; returns the challenge the new key must sign to be activated */
    async register(user: User, binding: string, raw: string, name?: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const pending = await webauthn.register(user, binding, raw, name);
      if (!pending) throw new KeyNotAcceptedError();
      const options = await webauthn.assertionOptions(binding, 'activate', { userId: user.id, pending: pending.keyId, userVerification: 'preferred' });
      if (!options) throw new KeyNotAcceptedError();
      return options;
    },

    /**
     * The pending key's first signature: it becomes a factor. `signIn`: inside a sign-in, whose epoch must still be
     * current (the user row is locked); `firstOnly`: refuse if the account got a factor meanwhile; `replaceOthers`:
     * after a recovery code, the key replaces every other factor (lost device).
     */
    async activate(
      user: User,
      binding: string,
      raw: string,
      meta: RequestMeta,
      opts: { replaceOthers?: boolean; firstOnly?: boolean; signIn?: SignInContext } = {},
    ): Promise<{ recoveryCodes: string[] | null; epoch: number; synced: boolean; userVerified: boolean }> {
      const r = await webauthn.verifyAssertion(binding, 'activate', raw, meta);
      if (!r.ok || r.userId !== user.id) throw new KeyNotAcceptedError();
      return db.transaction().execute(async (trx) => {
        const { credential_epoch } = await trx.selectFrom('users').select('credential_epoch').where('id', '=', user.id).forUpdate().executeTakeFirstOrThrow();
        if (opts.signIn && opts.signIn.epoch !== credential_epoch) throw new SignInChangedError();
        const hadFactor = await hasFactor(trx, user.id);
        if (hadFactor && opts.firstOnly) throw new FactorAlreadyActiveError();
        const confirmed = await trx.updateTable('webauthn_credentials').set({ confirmed_at: sqlNow(deps.clock) }).where('id', '=', r.keyId).where('user_id', '=', user.id).where('confirmed_at', 'is', null).executeTakeFirst();
        if (Number(confirmed.numUpdatedRows) !== 1) throw new KeyNotAcceptedError();
        if (opts.replaceOthers) await removeAllFactors(trx, user.id, { keepKey: r.keyId, keepRecoveryCodes: true });
        const fresh = !hadFactor || Boolean(opts.replaceOthers);
        const recoveryCodes = fresh ? await issueRecoveryCodes(trx, user.id, sealing) : null;
        const epoch = await bumpCredentialEpoch(trx, user.id, { sessionId: meta.sessionId ?? undefined, authnUid: opts.signIn?.uid });
        await deps.record(trx, 'webauthn.added', user, meta, { keyId: r.keyId, first: fresh, reset: Boolean(opts.replaceOthers) });
        return { recoveryCodes, epoch, synced: r.synced, userVerified: r.userVerified };
      });
    },
  };
}

export type SecurityKeys = ReturnType<typeof createSecurityKeys>;
