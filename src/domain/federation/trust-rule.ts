// The trust rule of an upstream provider (pure): when does its ID token prove a second factor that Gatehouse accepts
// as this sign-in's second factor? Off by default (both lists empty): an upstream sign-in is then one factor.
import { ValidationError } from '../errors.ts';

export interface TrustRule {
  /** accept when the ID token's amr contains one of these (e.g. mfa, otp, hwk) */
  amr: string[];
  /** … or when its acr is one of these */
  acr: string[];
  /** and its auth_time is at most this old (seconds) */
  maxAgeSeconds: number;
}

export const DEFAULT_TRUST_MAX_AGE = 300;
const VALUE_RE = /^[\x21-\x7e]{1,255}$/;

export function trustRuleEnabled(rule: TrustRule): boolean {
  return rule.amr.length > 0 || rule.acr.length > 0;
}

export function normalizeTrustRule(input: { amr?: string[]; acr?: string[]; maxAgeSeconds?: number }): TrustRule {
  const clean = (list: string[] | undefined) => [...new Set((list ?? []).map((v) => v.trim()).filter(Boolean))];
  const amr = clean(input.amr);
  const acr = clean(input.acr);
  if ([...amr, ...acr].some((v) => !VALUE_RE.test(v)) || amr.length > 16 || acr.length > 16) {
    throw new ValidationError('invalid_trust_rule', 'Trust values are up to 16 amr and 16 acr values without spaces.');
  }
  const maxAgeSeconds = input.maxAgeSeconds ?? DEFAULT_TRUST_MAX_AGE;
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 10 || maxAgeSeconds > 3600) {
    throw new ValidationError('invalid_trust_rule', 'The trust rule\'s maximum age of auth_time is 10–3600 seconds.');
  }
  return { amr, acr, maxAgeSeconds };
}

export type TrustVerdict = { accepted: true } | { accepted: false; reason: 'rule_off' | 'no_matching_factor' | 'no_auth_time' | 'stale_auth_time' };

/**
 * Accepts the upstream's second factor when the rule is on, its amr holds one of the rule's values or its acr is one of
 * the rule's, and auth_time is present, not in the future (60 s skew) and at most maxAgeSeconds old.
 */
export function judgeUpstreamProof(rule: TrustRule, claims: { amr?: unknown; acr?: unknown; authTime?: number }, now: Date): TrustVerdict {
  if (!trustRuleEnabled(rule)) return { accepted: false, reason: 'rule_off' };
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
  const amrOk = rule.amr.some((v) => amr.includes(v));
  const acrOk = typeof claims.acr === 'string' && rule.acr.includes(claims.acr);
  if (!amrOk && !acrOk) return { accepted: false, reason: 'no_matching_factor' };
  if (typeof claims.authTime !== 'number' || !Number.isFinite(claims.authTime)) return { accepted: false, reason: 'no_auth_time' };
  const age = now.getTime() / 1000 - claims.authTime;
  if (age > rule.maxAgeSeconds || age < -60) return { accepted: false, reason: 'stale_auth_time' };
  return { accepted: true };
}
