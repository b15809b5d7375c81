import fp from 'fastify-plugin';
import helmet from 'helmet';

/**
 * Headers on every response, including the provider's own pages (helmet writes them on the raw response,
 * which hijacked oidc-provider responses keep). No form-action: after a credential POST the browser is
 * redirected to the client's redirect_uri, which form-action 'self' would block.
 */
export default fp(
  async (app, opts: { hsts: boolean }) => {
    // built once: the fastify wrapper rebuilt helmet (and parsed these directives again) on every request, about 5%
    // of a token request's time on the serving thread
    const headers = helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          frameAncestors: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: opts.hsts ? { maxAge: 31536000, includeSubDomains: true } : false,
      crossOriginEmbedderPolicy: false,
      xFrameOptions: { action: 'deny' },
    });
    app.addHook('onRequest', (req, reply, done) => headers(req.raw, reply.raw, done as (err?: unknown) => void));
  },
  { name: 'security-headers' },
);
