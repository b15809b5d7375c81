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

/** sends the browser on after a step: back to the provider when the sign-in is done, else to the next step */
export async function proceed(deps: InteractionDeps, req: FastifyRequest, reply: FastifyReply, uid: string, result: FlowResult) {
  if (result.outcome === 'done') {
    const at = deps.clock.now();
    // a federated sign-in is stamped (idp claim); a link proposed to this account is made now (a credential change)
    const epoch = deps.federation ? await deps.federation.signInCompleted(uid, result.user.id, result.amr, at, result.epoch, meta(req)) : result.epoch;
    if (epoch === null) return reply.redirect(`/interaction/${uid}`, 303);
    const { clientId } = await deps.interactions.view(req.raw, reply.raw, uid);
    const next = await deps.interactions.finishLogin(req.raw, reply.raw, uid, result.user.id, result.amr, at, epoch);
    await deps.flow.signedIn(result.user.id, result.amr, clientId, meta(req), at);
    return reply.redirect(next, 303);
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
    return reply.redirect(`/interaction/${uid}/${path}`, 303);
  }
  return reply.redirect(`/interaction/${uid}`, 303);
}
