import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, ValidationError } from '../../../domain/errors.ts';
import { FACTOR_KINDS, type FactorKind } from '../../../domain/mfa/mfa-policy.ts';
import type { Tenant } from '../../../domain/tenants/tenant.service.ts';
import { memberRow, page, when, type AdminDeps } from './deps.ts';
import { slugParams } from './members.ts';
import { changedDate, meta, parseDay } from './rules.ts';
import { doneMessage, errorText } from '../../locale.ts';


const settingsBody = {
  type: 'object',
  properties: {
    _csrf: { type: 'string', maxLength: 256 },
    require2fa: { type: 'string', maxLength: 8 },
    enforceFrom: { type: 'string', maxLength: 10 },
    methods: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 64 } },
    secondFactors: { type: 'string', enum: ['any', 'webauthn'] },
    preview: { type: 'string', maxLength: 8 },
  },
} as const;

interface SettingsBody {
  require2fa?: string;
  enforceFrom?: string;
  methods?: string[];
  secondFactors?: 'any' | 'webauthn';
  preview?: string;
}

interface Form {
  require2fa: boolean;
  enforceFrom: string;
  methods: string[];
  /** 'any' second factor, or security keys and passkeys only */
  secondFactors: 'any' | 'webauthn';
}

const KEYS_ONLY: FactorKind[] = ['webauthn'];
const factorsOf = (choice: Form['secondFactors']): FactorKind[] => (choice === 'webauthn' ? KEYS_ONLY : [...FACTOR_KINDS]);

const formOf = (t: Tenant): Form => ({
  require2fa: t.require2fa,
  enforceFrom: t.enforceFrom ? t.enforceFrom.toISOString().slice(0, 10) : '',
  methods: t.allowedMethods,
  secondFactors: t.secondFactors.includes('totp') ? 'any' : 'webauthn',
});

/**
 * /admin/:slug/settings: the 2FA requirement (with an optional date: the grace period) and the allowed sign-in
 * methods. Turning the requirement on goes through a preview of who would have to set up 2FA.
 */

/** the settings field each refusal is about */
const FIELD_OF: Record<string, string> = { invalid_date: 'enforceFrom', invalid_methods: 'methods', invalid_second_factors: 'secondFactors' };
export default async function adminSettings(app: FastifyInstance, deps: AdminDeps) {
  const show = async (req: FastifyRequest, reply: FastifyReply, form: Form, extra: Record<string, unknown> = {}, status = 200) =>
    page(
      reply,
      deps.render('admin/settings.njk', {
        tenant: req.adminTenant,
        user: req.adminUser,
        section: 'settings',
        csrfToken: reply.generateCsrf(),
        form,
        current: { ...req.adminTenant, enforceFrom: when(req.adminTenant!.enforceFrom) },
        // password and every upstream provider: a method saved before is always on the form (nothing saved is lost)
        methods: (await deps.tenants.signInMethodChoices()).map((m) => ({ ...m, checked: form.methods.includes(m.value) })),
        ...extra,
      }),
      status,
    );

  app.get<{ Params: { slug: string }; Querystring: { done?: string } }>(
    '/admin/:slug/settings',
    { schema: { params: slugParams, querystring: { type: 'object', properties: { done: { type: 'string', maxLength: 32 } } } } },
    async (req, reply) => show(req, reply, formOf(req.adminTenant!), { flash: doneMessage('console', req.query.done) }),
  );

  app.post<{ Params: { slug: string }; Body: SettingsBody }>(
    '/admin/:slug/settings',
    { preValidation: app.csrfProtection, schema: { params: slugParams, body: settingsBody } },
    async (req, reply) => {
      const tenant = req.adminTenant!;
      const form: Form = { require2fa: req.body.require2fa === 'on', enforceFrom: req.body.enforceFrom ?? '', methods: req.body.methods ?? [], secondFactors: req.body.secondFactors ?? formOf(tenant).secondFactors };
      try {
        const day = parseDay(form.enforceFrom);
        if (day === 'invalid') throw new ValidationError('invalid_date', 'Enter the date as YYYY-MM-DD, or leave it empty to require two-factor authentication at once.', { key: 'invalid_enforce_date' });
        const enforceFrom = form.require2fa ? day : null;
        const choices = (await deps.tenants.signInMethodChoices()).map((m) => m.value);
        if (!form.methods.length || form.methods.some((m) => !choices.includes(m))) {
          throw new ValidationError('invalid_methods', 'Choose at least one sign-in method.', { key: 'choose_method' });
        }
        // the preview: who has not set up 2FA and would have to at their next sign-in (or after the date)
        if (req.body.preview === '1' && form.require2fa) {
          const blocked = await deps.tenants.wouldBeBlocked(tenant, factorsOf(form.secondFactors));
          const actor = { id: req.adminUser!.id, role: req.adminRole! };
          return show(req, reply, form, { preview: { blocked: blocked.map((m) => memberRow(m, actor)), enforceFrom: when(enforceFrom), total: (await deps.tenants.members(tenant)).coverage.total } });
        }
        await deps.tenants.updatePolicy(
          tenant,
          { require2fa: form.require2fa, enforceFrom: changedDate(tenant.enforceFrom, enforceFrom), allowedMethods: form.methods, secondFactors: factorsOf(form.secondFactors) },
          req.adminUser!.id,
          meta(req),
        );
        return reply.redirect(`/admin/${tenant.slug}/settings?done=saved`, 303);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        // beside the field it is about; an error of no field (a refused change) stands above the form
        const field = FIELD_OF[err.code];
        return show(req, reply, form, field ? { fieldErrors: { [field]: errorText(err) } } : { error: errorText(err) }, err.httpStatus);
      }
    },
  );
}
