// Request schemas of the admin API: the routes validate with them and the OpenAPI document shows them.
import { ROLES } from '../../../domain/tenants/tenant.service.ts';
import { SLUG_PATTERN, UUID_PATTERN } from '../admin/rules.ts';

export const slugParams = { type: 'object', required: ['slug'], properties: { slug: { type: 'string', pattern: SLUG_PATTERN } } } as const;
export const memberParams = { type: 'object', required: ['slug', 'userId'], properties: { slug: { type: 'string', pattern: SLUG_PATTERN }, userId: { type: 'string', pattern: UUID_PATTERN } } } as const;
export const policyBody = {
  type: 'object',
  additionalProperties: false,
  required: ['require2fa'],
  properties: {
    require2fa: { type: 'boolean' },
    enforceFrom: { type: ['string', 'null'], format: 'date-time', maxLength: 64 },
    allowedMethods: { type: 'array', minItems: 1, maxItems: 16, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 64 } },
  },
} as const;
export const inviteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'role'],
  properties: { email: { type: 'string', minLength: 3, maxLength: 320, pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' }, role: { type: 'string', enum: ROLES } },
} as const;
export const roleBody = { type: 'object', additionalProperties: false, required: ['role'], properties: { role: { type: 'string', enum: ROLES } } } as const;
export const resetBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reason', 'code'],
  properties: { reason: { type: 'string', minLength: 1, maxLength: 500 }, code: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
export const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    event: { type: 'string', maxLength: 64, pattern: '^[a-z0-9_.]*$' },
    member: { type: 'string', pattern: UUID_PATTERN },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
  },
} as const;

