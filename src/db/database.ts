// The tables as kysely sees them. Connecting (the pool, the migration lock's adapter) is connect.ts.
import type { ColumnType, Generated, Kysely, Transaction } from 'kysely';

export { createDb, MIGRATION_LOCK } from './connect.ts';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface UserTable {
  id: Generated<string>;
  email: string;
  email_normalized: string;
  email_verified: Generated<boolean>;
  name: string | null;
  password_hash: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  disabled_at: Date | null;
  password_changed_at: Date | null;
  /** bumped by every credential change: whatever was born under an older value is dead (credential-epoch.ts) */
  credential_epoch: Generated<number>;
  /** the language the user chose ('en', 'de'); null: not chosen (their browser's language is used) */
  locale: Generated<string | null>;
}

export type EmailTokenPurpose = 'verify_email' | 'reset_password' | 'invite' | 'change_email' | 'join_tenant';

export interface EmailTokenTable {
  id: Generated<string>;
  user_id: string;
  purpose: EmailTokenPurpose;
  token_sha256: string;
  new_email: string | null;
  tenant_id: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
  /** the user's credential epoch when the link was sent */
  epoch: Generated<number>;
}

export interface OidcClientTable {
  client_id: string;
  name: string;
  /** oidc-provider client metadata, minus the secret */
  metadata: ColumnType<Record<string, unknown>, string, string>;
  /** hex SHA-256 of the client secret; null for public clients */
  secret_sha256: string | null;
  first_party: Generated<boolean>;
  created_at: Generated<Date>;
  tenant_id: string | null;
  require_mfa: Generated<boolean>;
  /** may introspect tokens issued to other clients */
  resource_server: Generated<boolean>;
  /** switched off by the operator: the provider does not know it, its tokens are gone */
  disabled_at: Date | null;
}

export interface TenantTable {
  id: Generated<string>;
  slug: string;
  name: string;
  require_2fa: Generated<boolean>;
  enforce_from: Date | null;
  allowed_methods: ColumnType<string[], string[] | undefined, string[]>;
  /** the second factors members may use while the organization requires 2FA ('totp', 'webauthn') */
  second_factors: ColumnType<string[], string[] | undefined, string[]>;
  /** maximum lifetime of personal access tokens bound to the tenant; null: the deployment's */
  token_max_days: number | null;
  created_at: Generated<Date>;
  /** switched off by the operator: its private apps stop working */
  disabled_at: Date | null;
}

/** the public URL each server announced at start (the CLI compares its own) */
export interface ServerStartTable {
  issuer: string;
  started_at: Generated<Date>;
}

export type TenantRole = 'owner' | 'admin' | 'member';

export interface TenantMemberTable {
  tenant_id: string;
  user_id: string;
  role: TenantRole;
  created_at: Generated<Date>;
  mfa_deadline: Date | null;
  last_sign_in_at: Date | null;
  last_sign_in_amr: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  accepted_at: Date | null;
}

export interface SigningKeyTable {
  kid: string;
  alg: string;
  /** private JWK, AES-256-GCM sealed by the secret box */
  private_jwk_sealed: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  created_at: Generated<Date>;
  /** when a newer key takes (or took) over signing; may lie in the future during a rotation */
  retired_at: Date | null;
  /** from when the key signs (published before that, so relying parties' JWKS caches know it) */
  activates_at: Generated<Date>;
}

export interface OidcPayloadTable {
  model: string;
  id: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: Timestamp | null;
  consumed_at: Timestamp | null;
  /** the user the row speaks for (payload.accountId, or an interaction's signed-in user) */
  account_id: string | null;
  /** that user's credential epoch when the authentication behind the row happened */
  credential_epoch: number | null;
  /** a Session row: when it was last used (stamped at most every few minutes, session-activity.ts); null: not since its sign-in */
  last_active_at: Timestamp | null;
}

export interface AuditEventTable {
  id: Generated<string>;
  at: Generated<Date>;
  event: string;
  actor_user_id: string | null;
  target_user_id: string | null;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  tenant_id: string | null;
  data: ColumnType<Record<string, unknown>, string | undefined, never>;
}

export interface TotpCredentialTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  secret_sealed: string;
  created_at: Generated<Date>;
  confirmed_at: Date | null;
  /** bigint comes back as a string from pg */
  last_used_step: ColumnType<string, number | undefined, number>;
  last_used_at: Date | null;
}

export interface RecoveryCodeTable {
  id: Generated<string>;
  user_id: string;
  batch_id: string;
  code_hash: string;
  /** the code, AES-256-GCM sealed (user-bound AAD) so that it can be viewed again; null when viewing is off or once used */
  code_sealed: string | null;
  created_at: Generated<Date>;
  used_at: Date | null;
}

export interface AuthnTransactionTable {
  uid: string;
  user_id: string;
  password_at: Date;
  state: 'second_factor' | 'enroll' | 'recovery_codes' | 'grace';
  amr: ColumnType<string[], string[] | undefined, string[]>;
  expires_at: Date;
  /** the user's credential epoch when the password was checked */
  epoch: number;
  /** the second factors this sign-in may use (the policy at its password step) */
  allowed_factors: ColumnType<string[], string[] | undefined, string[]>;
  /** an enrollment adding an allowed kind after the user proved a factor of their own */
  upgrade: Generated<boolean>;
}

export interface WebAuthnCredentialTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  /** base64url credential id, unique across users */
  credential_id: string;
  /** base64url COSE public key */
  public_key: string;
  /** bigint comes back as a string from pg */
  sign_count: ColumnType<string, number | undefined, number>;
  transports: ColumnType<string[], string[] | undefined, string[]>;
  aaguid: string;
  backup_eligible: boolean;
  backed_up: boolean;
  discoverable: boolean | null;
  created_at: Generated<Date>;
  /** null while pending (registered, not used once yet) */
  confirmed_at: Date | null;
  last_used_at: Date | null;
}

export interface WebAuthnChallengeTable {
  id: Generated<string>;
  /** the interaction uid (sign-in) or the session id (account pages) the ceremony belongs to */
  binding: string;
  purpose: string;
  user_id: string | null;
  challenge: string;
  data: ColumnType<Record<string, unknown>, string | undefined, string>;
  expires_at: Date;
}

export interface ThrottleTable {
  key: string;
  failures: Generated<number>;
  locked_until: Date | null;
  updated_at: Generated<Date>;
}

export interface EmailOutboxTable {
  id: Generated<string>;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string;
  created_at: Generated<Date>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  sent_at: Date | null;
  last_error: string | null;
}

/** back-channel logout calls waiting for (or done with) delivery to a relying app */
export interface BackchannelDeliveryTable {
  id: Generated<string>;
  client_id: string;
  account_id: string;
  sid: string | null;
  created_at: Generated<Date>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  delivered_at: Date | null;
  gave_up_at: Date | null;
  last_error: string | null;
}

export interface PersonalTokenTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  token_sha256: string;
  scopes: ColumnType<string[], string[], string[]>;
  tenant_id: string | null;
  amr: ColumnType<string[], string[], string[]>;
  acr: string;
  auth_time: Date;
  epoch: number;
  created_at: Generated<Date>;
  expires_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  expiry_notified_at: Date | null;
}

export interface ChallengeSessionTable {
  uid: string;
  client_id: string;
  scope: string;
  code_challenge: string;
  redirect_uri: string;
  expires_at: Date;
}

export interface UpstreamProviderTable {
  id: Generated<string>;
  /** the sign-in method's name in organization policies */
  name: string;
  display_name: string;
  issuer: string;
  client_id: string;
  /** AES-256-GCM sealed by the secret box; null for a public client */
  client_secret_sealed: string | null;
  scopes: Generated<string>;
  icon_url: string | null;
  trust_amr: ColumnType<string[], string[] | undefined, string[]>;
  trust_acr: ColumnType<string[], string[] | undefined, string[]>;
  trust_max_age: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface UpstreamLinkTable {
  id: Generated<string>;
  user_id: string;
  upstream_id: string;
  issuer: string;
  subject: string;
  email: string | null;
  created_at: Generated<Date>;
  last_used_at: Date | null;
}

export interface FederationRequestTable {
  state: string;
  interaction_uid: string;
  upstream_id: string;
  nonce: string;
  verifier_sealed: string;
  expires_at: Date;
}

export interface FederationPendingLinkTable {
  uid: string;
  user_id: string;
  upstream_id: string;
  issuer: string;
  subject: string;
  email: string;
  epoch: number;
  expires_at: Date;
}

export interface FederatedSignInTable {
  uid: string;
  user_id: string;
  upstream_id: string | null;
  issuer: string;
  auth_time: Date | null;
  created_at: Generated<Date>;
}

export interface Database {
  server_starts: ServerStartTable;
  upstream_providers: UpstreamProviderTable;
  upstream_links: UpstreamLinkTable;
  federation_requests: FederationRequestTable;
  federation_pending_links: FederationPendingLinkTable;
  federated_sign_ins: FederatedSignInTable;
  challenge_sessions: ChallengeSessionTable;
  personal_tokens: PersonalTokenTable;
  tenants: TenantTable;
  tenant_members: TenantMemberTable;
  email_tokens: EmailTokenTable;
  totp_credentials: TotpCredentialTable;
  recovery_codes: RecoveryCodeTable;
  webauthn_credentials: WebAuthnCredentialTable;
  webauthn_challenges: WebAuthnChallengeTable;
  authn_transactions: AuthnTransactionTable;
  throttles: ThrottleTable;
  email_outbox: EmailOutboxTable;
  backchannel_deliveries: BackchannelDeliveryTable;
  users: UserTable;
  oidc_clients: OidcClientTable;
  signing_keys: SigningKeyTable;
  oidc_payloads: OidcPayloadTable;
  audit_events: AuditEventTable;
}

export type Db = Kysely<Database> | Transaction<Database>;
