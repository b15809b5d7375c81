// What the interaction routes need from oidc-provider, behind plain functions (the HTTP layer never imports it).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { DomainError } from '../domain/errors.ts';
import { loginResult, type Amr } from './acr-amr.ts';
import { requestDemandsMfa } from '../domain/mfa/mfa-policy.ts';
import { essentialAcrs } from './login-policy.ts';
import { withWriteAlong } from './request-scope.ts';
import type { AuditRow } from '../domain/audit/audit.service.ts';

export class InteractionExpiredError extends DomainError {
  constructor() {
    super('interaction_expired', 'This sign-in request has expired or was opened in another browser. Return to the app and start again.', 400);
  }
}

export interface InteractionView {
  uid: string;
  prompt: 'login' | 'consent' | string;
  clientId: string;
  clientName: string;
  accountId?: string;
  loginHint?: string;
  missingScopes: string[];
  /** claims asked for through the `claims` parameter that no granted or requested scope covers */
  missingClaims: string[];
  /** resource indicator → scopes asked for it */
  missingResourceScopes: Record<string, string[]>;
  /** the relying app demands a second factor (acr_values / essential acr) */
  mfaRequired: boolean;
  acrValues?: string;
  essentialAcrs: string[];
  /** the app's ui_locales: the languages it asks the pages to use, most preferred first */
  uiLocales?: string;
  /** what the app registered about itself (client metadata); shown beside its name */
  clientLinks: ClientLinks;
}

export interface ClientLinks {
  logoUri?: string;
  policyUri?: string;
  tosUri?: string;
}

/** the app's logo, privacy policy and terms from its registered metadata (https links only) */
export function clientLinks(client: { logoUri?: unknown; policyUri?: unknown; tosUri?: unknown } | undefined): ClientLinks {
  const url = (v: unknown) => (typeof v === 'string' && /^(https:\/\/|http:\/\/(localhost|127\.0\.0\.1)[:/]|data:image\/)/.test(v) ? v : undefined);
  return { logoUri: url(client?.logoUri), policyUri: url(client?.policyUri), tosUri: url(client?.tosUri) };
}

const SCOPE_LABELS: Record<string, string> = {
  openid: 'Know who you are',
  email: 'See your email address',
  profile: 'See your name and whether you use two-factor authentication',
  offline_access: 'Stay signed in to it while you are away',
  api: 'Use the Gatehouse-protected API on your behalf',
  tenants: 'See which organizations you belong to, and your role in them',
  admin: 'Manage the organizations you administer',
  tokens: 'Create and manage your personal access tokens',
};

export function scopeLabels(scopes: string[]): { scope: string; label: string }[] {
  return scopes.map((scope) => ({ scope, label: SCOPE_LABELS[scope] ?? scope }));
}

/** one line per claim the `claims` parameter can ask for (the provider ignores claims it does not support) */
const CLAIM_LABELS: Record<string, { label: string; scope: string }> = {
  email: { label: 'See your email address', scope: 'email' },
  email_verified: { label: 'See whether your email address is verified', scope: 'email' },
  name: { label: 'See your name', scope: 'profile' },
  two_factor_enabled: { label: 'See whether you use two-factor authentication', scope: 'profile' },
  tenants: { label: SCOPE_LABELS.tenants!, scope: 'tenants' },
};

/**
 * Everything the consent page must show: the scopes asked for, each claim asked for through the `claims` parameter
 * that those scopes do not already cover, and the scopes asked for at resource servers. Nothing is released that
 * is not on this list.
 */
export function consentLabels(view: Pick<InteractionView, 'missingScopes' | 'missingClaims' | 'missingResourceScopes'>): { label: string }[] {
  const scopes = view.missingScopes.length ? view.missingScopes : ['openid'];
  const labels = scopeLabels(scopes).map((s) => s.label);
  for (const claim of view.missingClaims) {
    const known = CLAIM_LABELS[claim];
    if (known && scopes.includes(known.scope)) continue;
    labels.push(known?.label ?? `See your "${claim}" information`);
  }
  for (const [resource, list] of Object.entries(view.missingResourceScopes)) {
    for (const scope of list) labels.push(`${SCOPE_LABELS[scope] ?? scope} (${resource})`);
  }
  return [...new Set(labels)].map((label) => ({ label }));
}

function parseClaims(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export function createInteractions(provider: Provider) {
  // one read of the interaction per request: a handler's view() and its finish share it
  const perRequest = new WeakMap<IncomingMessage, Awaited<ReturnType<Provider['interactionDetails']>>>();

  async function details(req: IncomingMessage, res: ServerResponse, uid: string) {
    let interaction = perRequest.get(req);
    if (interaction && interaction.uid === uid) return interaction;
    try {
      interaction = await provider.interactionDetails(req, res);
    } catch (err) {
      if ((err as { name?: string }).name === 'SessionNotFound') throw new InteractionExpiredError();
      throw err;
    }
    // oidc-provider does not compare the uid in the URL with the one in the cookie
    if (interaction.uid !== uid) throw new InteractionExpiredError();
    perRequest.set(req, interaction);
    return interaction;
  }

  type Interaction = Awaited<ReturnType<typeof details>>;
  /**
   * What provider.interactionResult does, on the interaction this request already read (it would read it again):
   * the result, merged with the last submission or not, saved for the rest of its life; returns the resume URL.
   */
  async function finish(i: Interaction, result: Record<string, unknown>, mergeWithLastSubmission: boolean): Promise<string> {
    i.result = mergeWithLastSubmission && !('error' in result) ? { ...i.lastSubmission, ...result } : result;
    await i.save(i.exp - Math.floor(Date.now() / 1000));
    return i.returnTo;
  }

  return {
    async view(req: IncomingMessage, res: ServerResponse, uid: string): Promise<InteractionView> {
      const i = await details(req, res, uid);
      const clientId = String(i.params.client_id);
      const client = await provider.Client.find(clientId);
      const promptDetails = i.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      return {
        uid: i.uid,
        prompt: i.prompt.name,
        clientId,
        clientName: client?.clientName ?? clientId,
        accountId: i.session?.accountId,
        loginHint: typeof i.params.login_hint === 'string' ? i.params.login_hint : undefined,
        missingScopes: promptDetails.missingOIDCScope ?? [],
        missingClaims: promptDetails.missingOIDCClaims ?? [],
        missingResourceScopes: promptDetails.missingResourceScopes ?? {},
        acrValues: i.params.acr_values as string | undefined,
        essentialAcrs: essentialAcrs(parseClaims(i.params.claims)),
        mfaRequired: requestDemandsMfa({ acrValues: i.params.acr_values as string | undefined, essentialAcrs: essentialAcrs(parseClaims(i.params.claims)) }),
        uiLocales: typeof i.params.ui_locales === 'string' ? i.params.ui_locales : undefined,
        clientLinks: clientLinks(client as never),
      };
    },

    /**
     * completes the login prompt of this interaction only; returns where to send the browser. `audit`: the sign-in's
     * audit row, written in the statement that saves the login result (request-scope.ts withWriteAlong)
     */
    async finishLogin(req: IncomingMessage, res: ServerResponse, uid: string, accountId: string, amr: Amr[], at: Date, epoch: number, audit?: AuditRow): Promise<string> {
      const i = await details(req, res, uid);
      if (i.prompt.name !== 'login') throw new InteractionExpiredError();
      const result = loginResult(accountId, amr, at, epoch);
      return audit ? withWriteAlong(audit, () => finish(i, result, false)) : finish(i, result, false);
    },

    async finishConsent(req: IncomingMessage, res: ServerResponse, uid: string): Promise<string> {
      const i = await details(req, res, uid);
      if (i.prompt.name !== 'consent' || !i.session?.accountId) throw new InteractionExpiredError();
      const d = i.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      const grant = i.grantId
        ? await provider.Grant.find(i.grantId)
        : new provider.Grant({ accountId: i.session.accountId, clientId: String(i.params.client_id) });
      if (!grant) throw new InteractionExpiredError();
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant.save();
      // keep the login result of this authorization request (mergeWithLastSubmission), or prompt=login would loop
      return finish(i, { consent: { grantId } }, true);
    },

    async abort(req: IncomingMessage, res: ServerResponse, uid: string): Promise<string> {
      const i = await details(req, res, uid);
      return finish(i, { error: 'access_denied', error_description: 'The user cancelled the request.' }, false);
    },
  };
}

export type Interactions = ReturnType<typeof createInteractions>;
