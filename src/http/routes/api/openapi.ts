// The OpenAPI 3.1 description of the admin API, served at /api/v1/openapi.json. Written by hand; the request
// schemas are the ones the routes validate with, so the two cannot drift apart.
import { ROLES } from '../../../domain/tenants/tenant.service.ts';
import { SIGN_IN_METHODS, SLUG_PATTERN, UUID_PATTERN } from '../admin/rules.ts';
import { inviteBody, policyBody, resetBody, roleBody } from './schemas.ts';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const errorResponse = (description: string) => ({ description, content: json(ref('Error')) });

const slug = { name: 'slug', in: 'path', required: true, description: 'The organization (tenant) slug.', schema: { type: 'string', pattern: SLUG_PATTERN } };
const userId = { name: 'userId', in: 'path', required: true, description: 'A member’s user id (`sub`).', schema: { type: 'string', format: 'uuid', pattern: UUID_PATTERN } };

/** answers every authenticated operation can give */
const common = {
  '400': errorResponse('Malformed request: the message says which field.'),
  '401': {
    description: 'No access token, or an invalid or expired one. `WWW-Authenticate: Bearer` says which.',
    headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
    content: json(ref('Error')),
  },
  '403': errorResponse('The token lacks the `admin` scope (`insufficient_scope`), or the action needs a higher role (`forbidden`).'),
  '404': errorResponse('No such organization, not one the token’s user administers (the same answer), or no such member in it.'),
};

function op(summary: string, description: string, responses: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { summary, description, security: [{ gatehouse: ['admin'] }], ...extra, responses: { ...responses, ...common } };
}

export function openApiDocument(issuer: string) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1.0.0',
      description:
        'Manage an organization (tenant): members, roles, invitations, the two-factor requirement and its grace period, admin resets of a member’s two-factor authentication, and the audit log.\n\n' +
        'Authenticate with an access token issued by this Gatehouse (authorization code flow with PKCE) whose scope includes `admin`, sent as `Authorization: Bearer <token>`. ' +
        'The token’s user must be an owner or admin of the organization in the path; any other organization answers 404. Only owners may grant or remove the owner role. ' +
        'Every change is written to the organization’s audit log with the token’s user as the actor.',
    },
    servers: [{ url: `${issuer}/api/v1` }],
    components: {
      securitySchemes: {
        gatehouse: {
          type: 'oauth2',
          description: 'Opaque access tokens from this Gatehouse, with the `admin` scope.',
          flows: { authorizationCode: { authorizationUrl: `${issuer}/oidc/auth`, tokenUrl: `${issuer}/oidc/token`, scopes: { openid: 'Sign in', admin: 'Administer the organizations you own or administer' } } },
        },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'message'],
          properties: { error: { type: 'string', description: 'A stable code, e.g. `invalid_request`, `invalid_token`, `insufficient_scope`, `forbidden`, `tenant_not_found`, `member_not_found`, `already_member`, `last_owner`, `second_factor_invalid`.' }, message: { type: 'string' } },
        },
        Role: { type: 'string', enum: ROLES },
        Member: {
          type: 'object',
          required: ['id', 'email', 'name', 'role', 'lastSignInAt', 'lastSignInMethod', 'lastSignInAmr', 'twoFactor'],
          properties: {
            id: { type: 'string', format: 'uuid' },
            email: { type: 'string', format: 'email' },
            name: { type: ['string', 'null'] },
            role: ref('Role'),
            lastSignInAt: { type: ['string', 'null'], format: 'date-time' },
            lastSignInMethod: { type: ['string', 'null'], enum: [...SIGN_IN_METHODS, null], description: 'How the last sign-in was made, as a stable code (not words to show).' },
            lastSignInAmr: { type: ['array', 'null'], items: { type: 'string' }, description: 'The authentication methods of the last sign-in (RFC 8176 `amr` values, e.g. `pwd`, `otp`, `mfa`, `hwk`).' },
            twoFactor: {
              type: 'object',
              required: ['enrolled', 'state', 'deadline'],
              properties: {
                enrolled: { type: 'boolean' },
                state: {
                  type: 'string',
                  enum: ['enrolled', 'pending', 'overdue', 'not_enrolled'],
                  description: '`pending`: the organization requires 2FA from `deadline` on; `overdue`: required now and not set up; `not_enrolled`: not set up and not required.',
                },
                deadline: { type: ['string', 'null'], format: 'date-time' },
              },
            },
          },
        },
        Coverage: { type: 'object', required: ['enrolled', 'total'], properties: { enrolled: { type: 'integer' }, total: { type: 'integer' } } },
        Policy: {
          type: 'object',
          required: ['require2fa', 'enforceFrom', 'allowedMethods'],
          properties: {
            require2fa: { type: 'boolean' },
            enforceFrom: { type: ['string', 'null'], format: 'date-time', description: 'Grace period: members without 2FA may sign in until then. null = at once.' },
            allowedMethods: { type: 'array', items: { type: 'string', description: 'password, or the name of an upstream OpenID provider' } },
          },
        },
        PolicyUpdate: { ...policyBody, description: 'require2fa is required. enforceFrom omitted or null = enforced at once (ignored when require2fa is false). allowedMethods omitted = unchanged.' },
        Invite: { ...inviteBody, description: 'An unknown address (or a user who never set a password) gets an invitation email; an existing user becomes a member at once.' },
        RoleChange: roleBody,
        Reset: { ...resetBody, description: 'reason goes to the audit log; code is the calling admin’s own current authenticator code or one of their recovery codes.' },
        AuditEvent: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            at: { type: 'string', format: 'date-time' },
            event: { type: 'string' },
            actor: { type: ['string', 'null'], description: 'email of who did it' },
            target: { type: ['string', 'null'], description: 'email of whom it was done to' },
            ip: { type: ['string', 'null'] },
            data: { type: 'object' },
          },
        },
      },
    },
    paths: {
      '/tenants': {
        get: op('Organizations you administer', 'The organizations where the token’s user is an owner or admin.', {
          '200': {
            description: 'The organizations.',
            content: json({ type: 'object', properties: { tenants: { type: 'array', items: { type: 'object', properties: { slug: { type: 'string' }, name: { type: 'string' }, role: ref('Role'), require2fa: { type: 'boolean' } } } } } }),
          },
        }),
      },
      '/tenants/{slug}/members': {
        parameters: [slug],
        get: op('Members with their 2FA state', 'Every member with role, last sign-in and method, two-factor state, and the coverage figure.', {
          '200': {
            description: 'The members.',
            content: json({ type: 'object', properties: { tenant: { type: 'object', properties: { slug: { type: 'string' }, name: { type: 'string' } } }, coverage: ref('Coverage'), members: { type: 'array', items: ref('Member') } } }),
          },
        }),
        post: op(
          'Invite a member',
          'Adds the person with this email address. Only owners may invite an owner.',
          {
            '201': { description: 'Invited: an email asks them to accept (and to choose a password if they have no account). The answer is the same whether or not the address has an account; until they accept, the member has no name, role power or sign-in data here.', content: json({ allOf: [ref('Member'), { type: 'object', properties: { invited: { type: 'boolean' } } }] }) },
            '409': errorResponse('Already a member (`already_member`).'),
          },
          { requestBody: { required: true, content: json(ref('Invite')) } },
        ),
      },
      '/tenants/{slug}/members/{userId}': {
        parameters: [slug, userId],
        get: op('One member', 'A member of this organization.', { '200': { description: 'The member.', content: json(ref('Member')) } }),
        patch: op(
          'Change a member’s role',
          'Only owners may grant or remove the owner role; the last owner cannot be demoted.',
          { '200': { description: 'The member, with the new role.', content: json(ref('Member')) }, '409': errorResponse('The last owner (`last_owner`).') },
          { requestBody: { required: true, content: json(ref('RoleChange')) } },
        ),
        delete: op('Remove a member', 'Removes the membership (the Gatehouse account stays). Only owners may remove an owner; the last owner cannot be removed.', {
          '204': { description: 'Removed.' },
          '409': errorResponse('The last owner (`last_owner`).'),
        }),
      },
      '/tenants/{slug}/members/{userId}/reset-2fa': {
        parameters: [slug, userId],
        post: op(
          'Reset a member’s two-factor authentication',
          'For a lost phone: removes the member’s authenticators and recovery codes, ends their sessions and revokes their tokens, emails them, and audits the reason. The calling admin confirms with their own second factor. Not for one’s own account; an owner’s only by an owner; not for a person who also belongs to an organization the caller does not administer.',
          { '204': { description: 'Reset.' } },
          { requestBody: { required: true, content: json(ref('Reset')) } },
        ),
      },
      '/tenants/{slug}/policy': {
        parameters: [slug],
        get: op('The 2FA requirement and sign-in methods', 'The organization’s policy.', { '200': { description: 'The policy.', content: json(ref('Policy')) } }),
        put: op(
          'Set the 2FA requirement and sign-in methods',
          'Turning the requirement on applies to existing sessions and tokens. Check `/policy/would-be-blocked` first.',
          { '200': { description: 'The saved policy.', content: json(ref('Policy')) } },
          { requestBody: { required: true, content: json(ref('PolicyUpdate')) } },
        ),
      },
      '/tenants/{slug}/policy/would-be-blocked': {
        parameters: [slug],
        get: op('Who would have to set up 2FA', 'Members without two-factor authentication: those a requirement would stop at their next sign-in.', {
          '200': { description: 'The members.', content: json({ type: 'object', properties: { members: { type: 'array', items: ref('Member') } } }) },
        }),
      },
      '/tenants/{slug}/audit': {
        parameters: [slug],
        get: op(
          'The audit log',
          'The organization’s own events and its members’ sign-in and two-factor events, newest first.',
          { '200': { description: 'The events.', content: json({ type: 'object', properties: { events: { type: 'array', items: ref('AuditEvent') } } }) } },
          {
            parameters: [
              { name: 'event', in: 'query', description: 'An event name prefix, e.g. `tenant.` or `login.`.', schema: { type: 'string', pattern: '^[a-z0-9_.]*$' } },
              { name: 'member', in: 'query', description: 'Only events by or about this member.', schema: { type: 'string', format: 'uuid' } },
              { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
            ],
          },
        ),
      },
    },
  };
}
