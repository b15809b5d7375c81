// The language of each request (src/i18n/catalogue.ts chooses it) and POST /locale, the footer's language switcher.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import formbody from '@fastify/formbody';
import { chooseLocale, hasMessage, translator } from '../i18n/catalogue.ts';
import type { DomainError } from '../domain/errors.ts';
import { isLocale, SUPPORTED_LOCALES, type Locale } from '../domain/users/locale-preference.ts';

interface LocaleStore {
  req: FastifyRequest;
  cookieName: string;
  /** the OIDC ui_locales of the sign-in this request belongs to (noted when a route reads its interaction) */
  uiLocales?: string;
  /** the app this sign-in is for, as the client banner shows it */
  client?: InteractionClient;
}

export interface InteractionClient {
  name: string;
  /** shown only when it loads nothing from another origin (a data: image or a file on our origin) */
  logo?: string;
  policyUri?: string;
  tosUri?: string;
}

const store = new AsyncLocalStorage<LocaleStore>();

/** the user a route has signed in (account and console pages set these before rendering) */
function signedInLocale(req: FastifyRequest): string | null {
  const r = req as unknown as { accountUser?: { locale?: string | null } | null; adminUser?: { locale?: string | null } | null };
  return r.accountUser?.locale ?? r.adminUser?.locale ?? null;
}

/** the language to render in now: every page render asks this (outside a request: the default) */
export function currentLocale(): Locale {
  const s = store.getStore();
  if (!s) return chooseLocale({});
  return chooseLocale({ cookie: s.req.cookies?.[s.cookieName], uiLocales: s.uiLocales, user: signedInLocale(s.req), acceptLanguage: s.req.headers['accept-language'] });
}

/** a message in the request's language, for the few words routes write themselves (error pages, code errors) */
export function translate(key: string, vars?: Record<string, unknown>): string {
  return translator(currentLocale())(key, vars);
}

/**
 * A domain error as a page shows it: its catalogue message in the request's language. An error without one (an
 * operator's mistake that only the CLI and the JSON APIs can make) keeps its English text.
 */
export function errorText(err: DomainError): string {
  return hasMessage(err.messageKey) ? translate(err.messageKey, err.ref.vars) : err.message;
}

/** the flash after a redirect: `?done=<code>` names a message under `flash.<section>` (an unknown code shows none) */
export function doneMessage(section: string, code: string | undefined): string | undefined {
  if (!code || !/^[a-z_]{1,32}$/.test(code)) return undefined;
  const key = `flash.${section}.${code}`;
  return hasMessage(key) ? translate(key) : undefined;
}

/** the path the switcher returns to: this page, if it can be fetched again with GET */
export function currentPath(): string {
  const s = store.getStore();
  if (!s || s.req.method !== 'GET') return '/';
  return s.req.url.length <= 500 ? s.req.url : '/';
}

/** called when a route reads its interaction: the page then speaks the app's ui_locales and names the app */
export function noteInteraction(uiLocales: string | undefined, client: InteractionClient) {
  const s = store.getStore();
  if (!s) return;
  if (uiLocales) s.uiLocales = uiLocales;
  s.client = client;
}

export function interactionClient(): InteractionClient | undefined {
  return store.getStore()?.client;
}

/** only a same-origin path goes back into a redirect: no scheme, no "//host", no backslash tricks */
function safePath(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) && value.length <= 500 ? value : '/';
}

interface LocaleBody {
  locale: string;
  return?: string;
}

/** the request store for every request; registered before the provider's mount so its pages see it too */
export const localeContext = fp(
  async (app: FastifyInstance, opts: { cookieName: string }) => {
    // run() (not enterWith): the rest of this request's hooks, handlers and the provider run inside this store
    app.addHook('onRequest', (req, _reply, done) => store.run({ req, cookieName: opts.cookieName }, done));
  },
  { name: 'locale-context' },
);

/**
 * POST /locale: sets the cookie and, when signed in, the user's preference (their mail follows it). No CSRF token
 * (it is on pages that have none, such as the provider's); a cross-site post is refused by its Origin instead.
 */
export function localeRoute(deps: { issuer: string; secure: boolean; cookieName: string; signedInUserId: (req: FastifyRequest, reply: FastifyReply) => Promise<string | null>; save: (userId: string, locale: Locale) => Promise<void> }) {
  return async (app: FastifyInstance) => {
    await app.register(formbody);
    app.post<{ Body: LocaleBody }>(
      '/locale',
      {
        schema: {
          body: {
            type: 'object',
            required: ['locale'],
            properties: { locale: { type: 'string', enum: [...SUPPORTED_LOCALES] }, return: { type: 'string', maxLength: 500 } },
          },
        },
      },
      async (req, reply) => {
        // Sec-Fetch-Site when the browser sends it (our pages send no referrer, so their posts carry "Origin: null");
        // else an Origin other than ours
        const site = req.headers['sec-fetch-site'];
        const origin = req.headers.origin;
        const crossSite = site ? site !== 'same-origin' && site !== 'none' : Boolean(origin && origin !== 'null' && origin !== new URL(deps.issuer).origin);
        if (crossSite) {
          return reply.status(403).type('text/plain').send('Cross-site request refused.');
        }
        const locale = req.body.locale;
        if (!isLocale(locale)) return reply.status(400).send();
        // a year, for the server only
        reply.setCookie(deps.cookieName, locale, { path: '/', sameSite: 'lax', httpOnly: true, secure: deps.secure, maxAge: 365 * 24 * 3600 });
        const userId = await deps.signedInUserId(req, reply);
        if (userId) await deps.save(userId, locale);
        return reply.redirect(safePath(req.body.return), 303);
      },
    );
  };
}
