import type { FastifyInstance } from 'fastify';
import type { PendingEnrollment } from '../../../domain/mfa/totp.service.ts';
import { DomainError } from '../../../domain/errors.ts';
import { groupKey, qrSvg } from '../../qr.ts';
import { meta, page, type InteractionDeps } from './deps.ts';
import { codeBody, uidParams, type CodeBody, type UidParams } from './schemas.ts';
import { errorText } from '../../locale.ts';

export async function enrollmentView(p: PendingEnrollment, account: string) {
  return { credentialId: p.credentialId, qr: await qrSvg(p.uri), key: groupKey(p.secret), rawKey: p.secret, uri: p.uri, account };
}

export function codesText(codes: string[]): string {
  return `Gatehouse recovery codes\nEach code works once.\n\n${codes.join('\n')}\n`;
}

/** GET/POST /interaction/:uid/enroll: set up an authenticator inside a sign-in (required 2FA, or after a recovery code). */
export default async function interactionEnroll(app: FastifyInstance, deps: InteractionDeps) {
  const show = async (uid: string, client: { clientId: string; clientName: string }, csrfToken: string, p: PendingEnrollment, error?: string) => {
    const user = await deps.flow.userFor(uid, 'enroll');
    const enrollment = await enrollmentView(p, user?.email ?? '');
    const keys = Boolean((await deps.flow.factors(uid))?.allowed.includes('webauthn')) && deps.webauthnAvailable;
    // the page names who requires it: the organization (whose rule it is), else the app
    const requiredBy = await deps.flow.requiredBy(uid, client.clientId);
    return deps.render('interaction/enroll.njk', { uid, clientName: client.clientName, organizations: requiredBy?.organizations ?? [], graceOrganizations: requiredBy?.graceOrganizations ?? [], csrfToken, error, enrollment, reset: !(await deps.flow.isFirstEnrollment(uid)), keys });
  };

  app.get<{ Params: UidParams }>('/interaction/:uid/enroll', { schema: { params: uidParams } }, async (req, reply) => {
    const { uid } = req.params;
    const view = await deps.interactions.view(req.raw, reply.raw, uid);
    // a new secret each time enrollment starts
    const pending = await deps.flow.startEnrollment(uid);
    if (!pending) return reply.redirect(`/interaction/${uid}`, 303);
    return page(reply, await show(uid, view, reply.generateCsrf(), pending));
  });

  app.post<{ Params: UidParams; Body: CodeBody }>(
    '/interaction/:uid/enroll',
    { schema: { params: uidParams, body: codeBody }, preValidation: app.csrfProtection },
    async (req, reply) => {
      const { uid } = req.params;
      const view = await deps.interactions.view(req.raw, reply.raw, uid);
      try {
        const done = await deps.flow.activate(uid, req.body.credentialId ?? '', req.body.code, meta(req));
        if (!done) return reply.redirect(`/interaction/${uid}`, 303);
        const html = deps.render('interaction/recovery-codes.njk', { uid, csrfToken: reply.generateCsrf(), codes: done.recoveryCodes, codesText: codesText(done.recoveryCodes) });
        return page(reply, html);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        const pending = await deps.flow.pendingEnrollment(uid, req.body.credentialId ?? '');
        if (!pending) return reply.redirect(`/interaction/${uid}/enroll`, 303);
        return page(reply, await show(uid, view, reply.generateCsrf(), pending, errorText(err)), 400);
      }
    },
  );
}
