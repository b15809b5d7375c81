export const uidParams = {
  type: 'object',
  required: ['uid'],
  properties: { uid: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' } },
} as const;

export const csrfOnlyBody = {
  type: 'object',
  properties: { _csrf: { type: 'string', maxLength: 256 } },
} as const;

export const loginBody = {
  type: 'object',
  required: ['email', 'password'],
  properties: {
    _csrf: { type: 'string', maxLength: 256 },
    email: { type: 'string', maxLength: 320 },
    // generous: the policy (256 code points) is enforced when a password is set; this only bounds the work
    password: { type: 'string', maxLength: 4096 },
    // the app the page was shown for: a hint the step checks against the interaction (sign-in-password.ts)
    client_hint: { type: 'string', maxLength: 256 },
  },
} as const;

export const codeBody = {
  type: 'object',
  required: ['code'],
  properties: {
    _csrf: { type: 'string', maxLength: 256 },
    code: { type: 'string', maxLength: 64 },
    credentialId: { type: 'string', maxLength: 64 },
    name: { type: 'string', maxLength: 200 },
  },
} as const;

export const savedBody = {
  type: 'object',
  properties: { _csrf: { type: 'string', maxLength: 256 }, saved: { type: 'string', maxLength: 8 } },
} as const;

/** a WebAuthn ceremony's outcome: the browser's JSON, as a form field */
export const responseBody = {
  type: 'object',
  required: ['response'],
  properties: {
    _csrf: { type: 'string', maxLength: 256 },
    response: { type: 'string', minLength: 2, maxLength: 32768 },
    name: { type: 'string', maxLength: 200 },
  },
} as const;

export interface ResponseBody {
  response: string;
  name?: string;
}

export interface UidParams {
  uid: string;
}

export interface CodeBody {
  code: string;
  credentialId?: string;
  name?: string;
}
