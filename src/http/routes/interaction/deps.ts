import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../../domain/clock.ts';
import type { FlowResult, SignInFlow } from '../../../domain/mfa/sign-in-flow.ts';
import type { UserService } from '../../../domain/users/user.service.ts';
import type { Interactions } from '../../../oidc/interactions.ts';
import type { FederationService } from '../../../domain/federation/federation.service.ts';
import type { Render } from '../../views.ts';
import { knownDevice } from '../../device-cookie.ts';
import { translate } from '../../locale.ts';

export interface InteractionDeps {
  interactions: Interactions;
  users: UserService;
  flow: SignInFlow;
  render: Render;
  clock: Clock;
  signupEnabled: boolean;
  /** security keys can work on this server (the issuer's host is a domain name) */
  webauthnAvailable: boolean;
  /** cookies marked Secure (https issuer) */
  secure: boolean;
  /** upstream OpenID providers: the sign-in page's buttons, the federated steps, links made when a sign-in completes */
  federation?: FederationService;
}

export function meta(req: FastifyRequest) {
  return { ip: req.ip, userAgent: req.headers['user-agent'], device: knownDevice(req) };
}

export function page(reply: FastifyReply, html: string, status = 200) {
  return reply.status(status).type('text/html').header('cache-control', 'no-store').send(html);
}

/** the same generic words for a wrong code, a replayed code and a lock (only the lock adds "try later") */
export function codeError(result: FlowResult): { message: string; status: number } {
  if (result.outcome === 'throttled') return { message: translate('codes.throttled'), status: 429 };
  return { message: translate('codes.wrong'), status: 401 };
}

/**
 * Sends the browser on after a step: back to the provider when the sign-in is done, else to the next step.
 * `result.written`: the step's writes still in flight (the password step's audit row and
 * counters); the answer waits for them, and fails if they did. A finished sign-in's `linkProposed` (FlowResult) spares
 * the completion its look for a proposed link when the step read that there is none.
 */
export async function proceed(deps: InteractionDeps, req: FastifyRequest, reply: FastifyReply, uid: string, result: FlowResult & { written?: Promise<void> }) {
  let location: string;
  try {
    location = await whereNext(deps, req, reply, uid, result);
  } finally {
    // (redirect() sends at once: the writes are awaited before it)
    await result.written;
  }
  return reply.redirect(location, 303);
}

async function whereNext(deps: InteractionDeps, req: FastifyRequest, reply: FastifyReply, uid: string, result: FlowResult): Promise<string> {
  if (result.outcome === 'done') {
    const at = deps.clock.now();
    // a federated sign-in is stamped (idp claim); a link proposed to this account is made now (a credential change)
    const epoch = deps.federation ? await deps.federation.signInCompleted(uid, result.user.id, result.amr, at, result.epoch, meta(req), result.linkProposed ?? true) : result.epoch;
    if (epoch === null) return `/interaction/${uid}`;
    const { clientId } = await deps.interactions.view(req.raw, reply.raw, uid);
    // the login result and its audit row go out together, in one statement
    return deps.interactions.finishLogin(req.raw, reply.raw, uid, result.user.id, result.amr, at, epoch, deps.flow.signedIn(result.user.id, result.amr, clientId, meta(req), at));
  }
  if (result.outcome === 'next') {
    // security keys are offered first; an enrollment sets up an authenticator app unless only keys are allowed
    const factors = result.step === 'second_factor' || result.step === 'enroll' ? (result.factors ?? (await deps.flow.factors(uid))) : null;
    const path = {
      second_factor: factors?.usable[0] === 'webauthn' ? 'security-key' : 'totp',
      enroll: factors && !factors.allowed.includes('totp') ? 'security-key/enroll' : 'enroll',
      recovery_codes: 'recovery-codes',
      grace: 'grace',
    }[result.step];
    return `/interaction/${uid}/${path}`;
  }
  return `/interaction/${uid}`;
}
