import type { FastifyInstance } from 'fastify';
import { rememberDevice } from '../../device-cookie.ts';
import { meta, page, proceed, type InteractionDeps } from './deps.ts';
import { refusal } from './federated.ts';
import { loginBody, uidParams, type UidParams } from './schemas.ts';
import { translate } from '../../locale.ts';
import { signInFieldErrors } from '../../field-errors.ts';

/** POST /interaction/:uid/login: email + password. */
export default async function interactionLogin(app: FastifyInstance, deps: InteractionDeps) {
  app.post<{ Params: UidParams; Body: { email: string; password: string; client_hint?: string } }>(
    '/interaction/:uid/login',
    { schema: { params: uidParams, body: loginBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      // the interaction is read while the step, told the app by the form (a hint it checks), reads the account and
      // counts the guess: one wait less before the hash
      const viewing = deps.interactions.view(req.raw, reply.raw, uid);
      viewing.catch(() => undefined);
      const asked = viewing.then((v) => ({ clientId: v.clientId, acrValues: v.acrValues, essentialAcrs: v.essentialAcrs }));
      asked.catch(() => undefined);
      const fieldErrors = signInFieldErrors(req.body);
      const result = fieldErrors ? undefined : await deps.flow.passwordForm(uid, req.body.email, req.body.password, meta(req), asked, deps.federation ? undefined : true, req.body.client_hint);
      const view = await viewing;
      // the page's other doors (upstream buttons) are read only when a page is shown again: a right password needs none
      const doors = async () => (deps.federation ? deps.federation.doors(view.clientId) : undefined);
      // an organization that allows only upstream providers for its app: a forced password form is refused
      const refuse = async () => {
        const allowed = (await doors())?.providers.map((p) => p.displayName).join(', ') || 'none';
        return refusal(deps, reply, { kind: 'refused', status: 403, title: 'Sign-in method not allowed', message: `This app's organization does not allow signing in with a password. Allowed: ${allowed}.` }, uid);
      };
      const again = async (extra: { error?: string; fieldErrors?: Record<string, string> }) =>
        deps.render('interaction/login.njk', { uid, csrfToken: reply.generateCsrf(), clientId: view.clientId, clientName: view.clientName, email: req.body.email, signupEnabled: deps.signupEnabled, ...(await doors()), ...extra });
      // an empty or malformed field is said beside it, before any account is looked up (nothing counts as a guess)
      if (!result) return !deps.federation || (await deps.federation.passwordAllowed(view.clientId)) ? page(reply, await again({ fieldErrors: fieldErrors ?? undefined }), 400) : refuse();
      // with upstream providers set up, an app's organization may restrict its methods: the step reads the app's rule
      // with the account and refuses a forced form before the hash
      if (result.outcome === 'password_not_allowed') return refuse();
      app.metrics.loginOutcomes.inc({ outcome: result.outcome === 'invalid' ? 'password_failed' : 'password_ok' });
      if (result.outcome === 'method_refused') {
        const names = new Map(((await doors())?.providers ?? []).map((p) => [p.name, p.displayName] as const));
        const allowed = result.allowed.map((m) => (m === 'password' ? 'email and password' : names.get(m) ?? m)).join(', ');
        return refusal(deps, reply, { kind: 'refused', status: 403, title: 'Sign-in method not allowed', message: `${result.organization} does not allow its members to sign in with a password. Allowed: ${allowed}.` }, uid);
      }
      if (result.outcome === 'invalid' || result.outcome === 'throttled') {
        // the same answer for an unknown email and a wrong password, above the form: beside either field it would say
        // which one was wrong. A lock says only "later".
        const throttled = result.outcome === 'throttled';
        return page(reply, await again({ error: throttled ? translate('codes.throttled') : translate('pages.incorrectLogin') }), throttled ? 429 : 401);
      }
      if (result.userId && result.credentialEpoch !== undefined) rememberDevice(req, reply, result.userId, result.credentialEpoch, deps.secure);
      return proceed(deps, req, reply, uid, result);
    },
  );
}
