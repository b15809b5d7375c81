// WebAuthn ceremonies (@simplewebauthn/server) over our own tables: options with a server-side challenge, verified
// registrations stored as pending credentials, verified assertions with the signature counter moved by one
// conditional UPDATE. A counter that does not move forward on a correctly signed assertion is a cloned-key signal:
// the assertion is refused, audited and mailed, never silently accepted.
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../../db/database.ts';
import { recordAudit } from '../../audit/audit.service.ts';
import { sqlNow, type Clock } from '../../clock.ts';
import type { RequestMeta, User } from '../../users/user.service.ts';
import type { SecurityRecorder } from '../security-notice.ts';
import { storeChallenge, takeChallenge, type ChallengePurpose } from './challenges.ts';
import { deviceName } from './aaguid-names.ts';
import { loadOnce } from '../../load-once.ts';

/** the WebAuthn library (about 15 MiB of a node's RSS), loaded by the first ceremony */
const simpleWebAuthn = loadOnce(() => import('@simplewebauthn/server'));

export interface RelyingParty {
  rpId: string;
  origin: string;
  rpName: string;
}

export interface SecurityKey {
  id: string;
  name: string;
  /** the model, from the AAGUID, when known */
  device: string | null;
  /** a passkey that syncs between devices (backup eligible) rather than one bound to this piece of hardware */
  synced: boolean;
  /** discoverable: can sign in without a password */
  passkey: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** a verified assertion: who, with which credential, and what the authenticator's signed flags say */
export type Assertion =
  | { ok: true; userId: string; keyId: string; synced: boolean; userVerified: boolean; epoch: number }
  | { ok: false; reason: 'expired' | 'unknown_key' | 'invalid' | 'sign_count' };

const TIMEOUT_MS = 60_000;
/** EdDSA, ES256, RS256 */
const ALGORITHMS = [-8, -7, -257];
const TRANSPORTS = new Set(['ble', 'hybrid', 'internal', 'nfc', 'usb']);

/** the WebAuthn user handle: the user id's bytes (an opaque UUID, no personal data) */
const userHandle = (userId: string) => new TextEncoder().encode(userId);

/** a browser's JSON, parsed; anything else is null (never a 500) */
export function parseCredentialJson<T>(raw: string): T | null {
  try {
    const v = JSON.parse(raw) as { id?: unknown; rawId?: unknown; type?: unknown; response?: unknown };
    if (!v || typeof v !== 'object' || typeof v.id !== 'string' || typeof v.rawId !== 'string' || v.type !== 'public-key' || !v.response || typeof v.response !== 'object') return null;
    if (v.id.length > 1024) return null;
    return v as T;
  } catch {
    return null;
  }
}

type KeyRow = { id: string; name: string; aaguid: string; backup_eligible: boolean; discoverable: boolean | null; created_at: Date; last_used_at: Date | null };
const toKey = (r: KeyRow): SecurityKey => ({
  id: r.id,
  name: r.name,
  device: deviceName(r.aaguid),
  synced: r.backup_eligible,
  passkey: r.discoverable === true,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

export function createWebAuthn(deps: { db: Kysely<Database>; clock: Clock; rp: RelyingParty; record: SecurityRecorder }) {
  const { db, clock, rp } = deps;

  async function credentialsOf(userId: string, opts: { pending?: string } = {}) {
    let q = db.selectFrom('webauthn_credentials').select(['id', 'credential_id', 'transports']).where('user_id', '=', userId);
    q = opts.pending ? q.where('id', '=', opts.pending).where('confirmed_at', 'is', null) : q.where('confirmed_at', 'is not', null);
    return q.execute();
  }

  const descriptor = (r: { credential_id: string; transports: string[] }) => ({ id: r.credential_id, transports: r.transports as AuthenticatorTransport[] });

  /** a signed assertion whose counter did not move forward: refused, audited and mailed */
  async function counterRegression(row: { id: string; user_id: string; sign_count: string }, presented: number, meta: RequestMeta) {
    const user = await db.selectFrom('users').select(['id', 'email', 'name', 'email_verified']).where('id', '=', row.user_id).executeTakeFirstOrThrow();
    await db.transaction().execute((trx) =>
      deps.record(trx, 'webauthn.sign_count_regression', { id: user.id, email: user.email, name: user.name, emailVerified: user.email_verified }, meta, { keyId: row.id, stored: Number(row.sign_count), presented }),
    );
  }

  return {
    /** confirmed keys of a user (pending ones are not factors) */
    async keys(userId: string): Promise<SecurityKey[]> {
      const rows = await db
        .selectFrom('webauthn_credentials')
        .select(['id', 'name', 'aaguid', 'backup_eligible', 'discoverable', 'created_at', 'last_used_at'])
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is not', null)
        .orderBy('created_at')
        .execute();
      return rows.map(toKey);
    },

    /** options for navigator.credentials.create: a new key for `user` (their keys excluded), the challenge kept for `binding` */
    async registrationOptions(user: User, binding: string, data: Record<string, unknown> = {}): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const existing = await db.selectFrom('webauthn_credentials').select(['credential_id', 'transports']).where('user_id', '=', user.id).execute();
      const { generateRegistrationOptions } = await simpleWebAuthn();
      const options = await generateRegistrationOptions({
        rpName: rp.rpName,
        rpID: rp.rpId,
        userName: user.email,
        userDisplayName: user.name ?? user.email,
        userID: userHandle(user.id),
        attestationType: 'none',
        excludeCredentials: existing.map(descriptor),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
        extensions: { credProps: true },
        supportedAlgorithmIDs: ALGORITHMS,
        timeout: TIMEOUT_MS,
      });
      await storeChallenge(db, clock, { binding, purpose: 'register', userId: user.id, challenge: options.challenge, data });
      return options;
    },

    /**
     * Verifies a registration against the challenge of `binding` and stores the credential as PENDING: it becomes a
     * factor only after it has signed once (activate). The name: given, or the one the challenge was issued with.
     */
    async register(user: User, binding: string, raw: string, name?: string): Promise<{ keyId: string } | null> {
      // the library first: a load that fails leaves the challenge unspent
      const { verifyRegistrationResponse } = await simpleWebAuthn();
      const challenge = await takeChallenge(db, clock, binding, 'register');
      const response = parseCredentialJson<RegistrationResponseJSON>(raw);
      if (!challenge || challenge.userId !== user.id || !response) return null;
      let info;
      try {
        const v = await verifyRegistrationResponse({ response, expectedChallenge: challenge.challenge, expectedOrigin: rp.origin, expectedRPID: rp.rpId, requireUserVerification: false, supportedAlgorithmIDs: ALGORITHMS });
        info = v.verified ? v.registrationInfo : null;
      } catch {
        info = null;
      }
      if (!info) return null;
      const rk = response.clientExtensionResults?.credProps?.rk;
      const row = await db
        .insertInto('webauthn_credentials')
        .values({
          user_id: user.id,
          name: (name ?? String(challenge.data.name ?? '')).trim().slice(0, 60) || 'Security key',
          credential_id: info.credential.id,
          public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
          sign_count: info.credential.counter,
          transports: (response.response.transports ?? []).filter((t) => TRANSPORTS.has(t)),
          aaguid: info.aaguid,
          backup_eligible: info.credentialDeviceType === 'multiDevice',
          backed_up: info.credentialBackedUp,
          discoverable: typeof rk === 'boolean' ? rk : null,
        })
        .onConflict((oc) => oc.column('credential_id').doNothing())
        .returning('id')
        .executeTakeFirst();
      return row ? { keyId: row.id } : null;
    },

    /**
     * Options for navigator.credentials.get. With `userId`: that user's confirmed keys (or one pending key, to activate
     * it). Without: a discoverable-credential request (passkey sign-in), where the authenticator names the user.
     */
    async assertionOptions(binding: string, purpose: ChallengePurpose, opts: { userId?: string; pending?: string; userVerification: 'preferred' | 'discouraged' }): Promise<PublicKeyCredentialRequestOptionsJSON | null> {
      const allow = opts.userId ? await credentialsOf(opts.userId, { pending: opts.pending }) : undefined;
      if (allow && !allow.length) return null;
      const { generateAuthenticationOptions } = await simpleWebAuthn();
      const options = await generateAuthenticationOptions({ rpID: rp.rpId, allowCredentials: allow?.map(descriptor), userVerification: opts.userVerification, timeout: TIMEOUT_MS });
      await storeChallenge(db, clock, { binding, purpose, userId: opts.userId ?? null, challenge: options.challenge, data: opts.pending ? { pending: opts.pending } : {} });
      return options;
    },

    /**
     * Verifies an assertion against the challenge of `binding`/`purpose`. The credential must belong to the user the
     * challenge was issued for (or, for a passkey request, names its owner through the user handle). `pending`: the
     * one pending key being activated. The counter moves forward in one conditional UPDATE, or the assertion fails.
     */
    async verifyAssertion(binding: string, purpose: ChallengePurpose, raw: string, meta: RequestMeta): Promise<Assertion> {
      // the library first: a load that fails leaves the challenge unspent
      const { verifyAuthenticationResponse } = await simpleWebAuthn();
      const challenge = await takeChallenge(db, clock, binding, purpose);
      if (!challenge) return { ok: false, reason: 'expired' };
      const response = parseCredentialJson<AuthenticationResponseJSON>(raw);
      if (!response) return { ok: false, reason: 'invalid' };
      const pending = typeof challenge.data.pending === 'string' ? challenge.data.pending : undefined;
      let q = db
        .selectFrom('webauthn_credentials as c')
        .innerJoin('users as u', 'u.id', 'c.user_id')
        .select(['c.id', 'c.user_id', 'c.public_key', 'c.sign_count', 'c.transports', 'c.credential_id', 'u.credential_epoch'])
        .where('c.credential_id', '=', response.id)
        .where('u.disabled_at', 'is', null);
      q = pending ? q.where('c.id', '=', pending).where('c.confirmed_at', 'is', null) : q.where('c.confirmed_at', 'is not', null);
      if (challenge.userId) q = q.where('c.user_id', '=', challenge.userId);
      const row = await q.executeTakeFirst();
      if (!row) return { ok: false, reason: 'unknown_key' };
      const handle = response.response.userHandle;
      if (handle && Buffer.from(handle, 'base64url').toString('utf8') !== row.user_id) return { ok: false, reason: 'unknown_key' };
      let info;
      try {
        // counter 0 here: the comparison is ours (below), so that a regression is told apart from a bad signature
        const v = await verifyAuthenticationResponse({
          response,
          expectedChallenge: challenge.challenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.rpId,
          credential: { id: row.credential_id, publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64url')), counter: 0, transports: row.transports as AuthenticatorTransport[] },
          requireUserVerification: false,
        });
        info = v.verified ? v.authenticationInfo : null;
      } catch {
        info = null;
      }
      if (!info) {
        await recordAudit(db, { event: 'webauthn.failed', targetUserId: row.user_id, ip: meta.ip, userAgent: meta.userAgent, data: { keyId: row.id } });
        return { ok: false, reason: 'invalid' };
      }
      // authenticators that keep no counter always say 0; any other value must grow
      const moved = await db
        .updateTable('webauthn_credentials')
        .set({ sign_count: info.newCounter, backed_up: info.credentialBackedUp, last_used_at: sqlNow(clock) })
        .where('id', '=', row.id)
        .where((eb) => eb.or([eb('sign_count', '<', sql<string>`${info.newCounter}`), eb.and([eb('sign_count', '=', sql<string>`0`), eb(sql`${info.newCounter}::bigint`, '=', sql<string>`0`)])]))
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) {
        await counterRegression(row, info.newCounter, meta);
        return { ok: false, reason: 'sign_count' };
      }
      return { ok: true, userId: row.user_id, keyId: row.id, synced: info.credentialDeviceType === 'multiDevice', userVerified: info.userVerified, epoch: row.credential_epoch };
    },
  };
}

export type WebAuthn = ReturnType<typeof createWebAuthn>;
