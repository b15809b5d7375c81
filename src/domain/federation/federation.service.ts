// Signing in through an upstream OpenID provider, from the button to the sign-in state machine:
// start → the upstream (PKCE + state + nonce, single-use request bound to the interaction) → callback → verified ID
// token → the local account (link by (issuer, sub); a new account; or a link proposed to an existing account, made
// only after that account's own password and second factor) → the organization's allowed methods → the SAME sign-in
// flow as after a password (flow.federated), with the upstream's second factor counted only by the trust rule.
// Every refusal leaves nothing created or linked and is audited.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/database.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { sqlNow, type Clock } from '../clock.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { FlowResult, RequestContext, SignInFlow, Step } from '../mfa/sign-in-flow.ts';
import type { RequestMeta } from '../users/user.service.ts';
import type { LinkService } from './link.service.ts';
import { allows, clientRestriction, describeMethods, memberRestriction, restrictionAndProviders, restrictionProvidersAndStep, type MethodRestriction } from './sign-in-methods.ts';
import { judgeUpstreamProof, trustRuleEnabled } from './trust-rule.ts';
import { UpstreamFailure, type UpstreamGateway, type UpstreamProvider, type UpstreamService } from './upstream.service.ts';

export type Refusal = { kind: 'refused'; status: number; title: string; message: string };
export type CallbackOutcome = { kind: 'flow'; result: FlowResult } | { kind: 'link'; email: string; displayName: string } | Refusal;

export interface SignInDoors {
  passwordAllowed: boolean;
  providers: { name: string; displayName: string; iconUrl: string | null }[];
}

const REQUEST_TTL_SECONDS = 600;
/** a federated sign-in's PKCE verifier is sealed bound to its state */
export const verifierAad = (state: string) => `federation:${state}`;
const random = () => randomBytes(32).toString('base64url');

export function createFederationService(deps: {
  db: Kysely<Database>;
  clock: Clock;
  box: SecretBox;
  upstreams: UpstreamService;
  links: LinkService;
  gateway: UpstreamGateway;
  flow: Pick<SignInFlow, 'federated' | 'password'>;
  issuer: string;
  signupEnabled: boolean;
}) {
  const { db, clock, upstreams, links } = deps;
  const redirectUri = `${deps.issuer}/federation/callback`;

  const refused = (status: number, title: string, message: string): Refusal => ({ kind: 'refused', status, title, message });

  async function notAllowed(r: MethodRestriction, up: UpstreamProvider, meta: RequestMeta, request: RequestContext, userId: string | null): Promise<Refusal> {
    const names = new Map((await upstreams.list()).map((u) => [u.name, u.displayName]));
    await recordAudit(db, { event: 'federation.refused', targetUserId: userId, clientId: request.clientId ?? null, ip: meta.ip, userAgent: meta.userAgent, data: { upstream: up.name, reason: 'method_not_allowed', organization: r.organization } });
    return refused(403, 'Sign-in method not allowed', `${r.organization} does not allow signing in with ${up.displayName}. Allowed: ${describeMethods(r.allowed, names) || 'none'}.`);
  }

  async function failed(up: UpstreamProvider, err: unknown, meta: RequestMeta, request: RequestContext): Promise<Refusal> {
    if (!(err instanceof UpstreamFailure)) throw err;
    await recordAudit(db, { event: 'federation.failed', clientId: request.clientId ?? null, ip: meta.ip, userAgent: meta.userAgent, data: { upstream: up.name, reason: err.reason, detail: err.detail.slice(0, 300) } });
    const why: Record<string, string> = {
      unreachable: `${up.displayName} could not be reached.`,
      timeout: `${up.displayName} took too long to answer.`,
      access_denied: `${up.displayName} did not sign you in (it was cancelled or refused).`,
      error_response: `${up.displayName} answered with an error.`,
      invalid_response: `${up.displayName}'s answer could not be verified, so it was not accepted.`,
    };
    return refused(err.reason === 'access_denied' ? 400 : 502, `${up.displayName} sign-in failed`, `${why[err.reason]} Nothing was changed. Go back and try again, or sign in another way.`);
  }

  /** what an app's restriction leaves open of the configured methods */
  const open = ({ restriction, providers }: Awaited<ReturnType<typeof restrictionAndProviders>>): SignInDoors => ({
    passwordAllowed: allows(restriction, 'password'),
    providers: providers.filter((u) => allows(restriction, u.name)),
  });

  return {
    /** what the sign-in page offers for this app: the password form and the allowed upstream buttons */
    async doors(clientId: string | undefined): Promise<SignInDoors> {
      return open(await restrictionAndProviders(db, clientId));
    },

    /** doors(), and the step the sign-in `uid` reached (null before its password step), in one statement: the sign-in page's reads */
    async doorsAndStep(clientId: string | undefined, uid: string): Promise<SignInDoors & { step: Step | null }> {
      const found = await restrictionProvidersAndStep(db, clock, clientId, uid);
      return { ...open(found), step: found.step };
    },

    /** may this app's users sign in with a password? (doors() without the providers: the password POST's question) */
    async passwordAllowed(clientId: string | undefined): Promise<boolean> {
      return allows(await clientRestriction(db, clientId), 'password');
    },

    /** "Continue with <name>": the upstream authorization URL, or a refusal (unknown, not allowed here, unreachable) */
    async start(uid: string, name: string, meta: RequestMeta, request: RequestContext): Promise<{ kind: 'redirect'; url: string } | Refusal> {
      const up = (await upstreams.list()).find((u) => u.name === name);
      if (!up) return refused(404, 'Unknown provider', 'There is no such sign-in provider. Go back and choose another way to sign in.');
      const restriction = await clientRestriction(db, request.clientId);
      if (!allows(restriction, up.name)) return notAllowed(restriction!, up, meta, request, null);
      const endpoint = await upstreams.endpoint(up.id);
      if (!endpoint) return refused(404, 'Unknown provider', 'There is no such sign-in provider.');
      const state = random();
      const nonce = random();
      const verifier = random();
      try {
        const url = await deps.gateway.authorizationUrl(endpoint, { redirectUri, state, nonce, verifier, maxAge: trustRuleEnabled(up.trust) ? up.trust.maxAgeSeconds : undefined });
        await db
          .insertInto('federation_requests')
          .values({ state, interaction_uid: uid, upstream_id: up.id, nonce, verifier_sealed: deps.box.seal(verifier, verifierAad(state)), expires_at: new Date(clock.now().getTime() + REQUEST_TTL_SECONDS * 1000) })
          .execute();
        return { kind: 'redirect', url };
      } catch (err) {
        return failed(up, err, meta, request);
      }
    },

    /** the interaction an upstream's answer belongs to (the fixed redirect URI forwards it there) */
    async interactionOf(state: string): Promise<string | null> {
      if (!/^[A-Za-z0-9_-]{20,100}$/.test(state)) return null;
      const row = await db.selectFrom('federation_requests').select('interaction_uid').where('state', '=', state).where('expires_at', '>', sqlNow(clock)).executeTakeFirst();
      return row?.interaction_uid ?? null;
    },

    /** the upstream's answer, in the browser that holds this interaction */
    async callback(uid: string, params: URLSearchParams, meta: RequestMeta, request: RequestContext): Promise<CallbackOutcome> {
      const state = params.get('state') ?? '';
      // single use, bound to this interaction: a replayed, forged or foreign answer finds nothing
      const req = /^[A-Za-z0-9_-]{20,100}$/.test(state)
        ? await db.deleteFrom('federation_requests').where('state', '=', state).where('interaction_uid', '=', uid).where('expires_at', '>', sqlNow(clock)).returningAll().executeTakeFirst()
        : undefined;
      const up = req ? await upstreams.byId(req.upstream_id) : null;
      const endpoint = up ? await upstreams.endpoint(up.id) : null;
      if (!req || !up || !endpoint) {
        await recordAudit(db, { event: 'federation.refused', clientId: request.clientId ?? null, ip: meta.ip, userAgent: meta.userAgent, data: { reason: 'unknown_state' } });
        return refused(400, 'Sign-in not recognised', 'This answer does not belong to a sign-in started in this browser, or it was already used or has expired. Go back and start again.');
      }
      const restriction = await clientRestriction(db, request.clientId);
      if (!allows(restriction, up.name)) return notAllowed(restriction!, up, meta, request, null);

      let identity;
      try {
        const verifier = deps.box.open(req.verifier_sealed, verifierAad(state)).toString('utf8');
        identity = await deps.gateway.redeem(endpoint, { params, redirectUri, state, nonce: req.nonce, verifier, maxAge: trustRuleEnabled(up.trust) ? up.trust.maxAgeSeconds : undefined });
      } catch (err) {
        return failed(up, err, meta, request);
      }

      let user = (await links.linkedUser(identity))?.user ?? null;
      if (!user) {
        if (!identity.email || !identity.emailVerified) {
          await recordAudit(db, { event: 'federation.refused', clientId: request.clientId ?? null, ip: meta.ip, userAgent: meta.userAgent, data: { upstream: up.name, reason: 'email_not_verified', subject: identity.subject } });
          return refused(403, 'Email address not confirmed', `${up.displayName} did not confirm an email address for this account, so Gatehouse cannot tell whose account it is. Confirm your address with ${up.displayName}, or sign in another way.`);
        }
        const withEmail = { ...identity, email: identity.email };
        const existing = await links.accountWithEmail(identity.email);
        if (existing?.disabled) {
          await recordAudit(db, { event: 'federation.refused', targetUserId: existing.id, clientId: request.clientId ?? null, ip: meta.ip, userAgent: meta.userAgent, data: { upstream: up.name, reason: 'disabled' } });
          return refused(403, 'Account disabled', 'This account is disabled. Contact your administrator.');
        }
        if (!existing && !deps.signupEnabled) {
          await recordAudit(db, { event: 'federation.refused', clientId: request.clientId ?? null, ip: meta.ip, userAgent: meta.userAgent, data: { upstream: up.name, reason: 'signup_disabled' } });
          return refused(403, 'No account', `No Gatehouse account uses ${identity.email}, and new accounts are by invitation only. Ask your administrator for an invitation.`);
        }
        user = existing ? null : await links.createLinkedAccount(up.id, withEmail, meta);
        if (!user) {
          // never linked silently: the account's owner proves it (password + its second factor) in this interaction
          const owner = existing ?? (await links.accountWithEmail(identity.email));
          if (!owner || owner.disabled) return refused(403, 'Account disabled', 'This account cannot sign in.');
          await links.proposeLink(uid, owner, up.id, withEmail);
          return { kind: 'link', email: owner.email, displayName: up.displayName };
        }
      }
      const member = await memberRestriction(db, user.id, up.name);
      if (member) return notAllowed(member, up, meta, request, user.id);

      const verdict = judgeUpstreamProof(up.trust, identity, clock.now());
      await links.noteFederatedSignIn(uid, user.id, up.id, identity.issuer);
      await recordAudit(db, {
        event: 'login.succeeded',
        targetUserId: user.id,
        clientId: request.clientId ?? null,
        ip: meta.ip,
        userAgent: meta.userAgent,
        data: { method: 'fed', upstream: up.name, issuer: identity.issuer, upstreamMfa: verdict.accepted, ...(verdict.accepted ? {} : { trust: verdict.reason }) },
      });
      return { kind: 'flow', result: await deps.flow.federated(uid, user, verdict.accepted, request) };
    },

    /** the link page: the existing account's password (then its second factor, as any sign-in) */
    async linkWithPassword(uid: string, password: string, meta: RequestMeta, request: RequestContext): Promise<(FlowResult & { userId?: string }) | null> {
      const pending = await links.pendingLink(uid);
      return pending ? deps.flow.password(uid, pending.email, password, meta, request) : null;
    },

    pendingLink: (uid: string) => links.pendingLink(uid),
    signInCompleted: links.signInCompleted,
  };
}

export type FederationService = ReturnType<typeof createFederationService>;
