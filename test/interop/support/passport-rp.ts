// passport with openid-client's own strategy (`openid-client/passport`) as a relying party: an Express app with
// express-session on a loopback port and one protected route. README "Works with" quotes the lines between the
// "snippet" markers verbatim.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import * as client from 'openid-client';
import { Strategy, type AuthenticateOptions } from 'openid-client/passport';
import passport from 'passport';

export async function passportApp(
  t: { after(fn: () => Promise<void>): void },
  o: { issuer: URL; clientId: string; clientSecret: string; port: number; sessionSecret: string },
) {
  const { issuer, clientId, clientSecret, sessionSecret } = o;
  const callbackURL = `http://127.0.0.1:${o.port}/callback`;
  // snippet: begin
  const config = await client.discovery(issuer, clientId, clientSecret, undefined, {
    execute: [client.allowInsecureRequests], // the test's issuer is http://127.0.0.1; leave this out with https
  });
  client.enableNonRepudiationChecks(config); // also check the ID token's signature against the JWKS

  class GatehouseStrategy extends Strategy {
    authorizationRequestParams(req: express.Request, options: AuthenticateOptions) {
      const params = new URLSearchParams(super.authorizationRequestParams(req, options));
      params.set('acr_values', 'urn:gatehouse:acr:mfa'); // ask for password + second factor
      return params;
    }
  }
  passport.use('gatehouse', new GatehouseStrategy({ config, scope: 'openid email profile', callbackURL }, async (tokens, verified) => {
    const claims = tokens.claims()!; // the ID token, validated by openid-client (iss, aud, exp, iat, signature)
    const { email } = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    verified(null, { sub: claims.sub, email, acr: claims.acr, amr: claims.amr, id_token: tokens.id_token });
  }));
  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));

  const app = express();
  app.use(session({ secret: sessionSecret, resave: false, saveUninitialized: false }));
  app.use(passport.session());
  app.get('/login', passport.authenticate('gatehouse'));
  app.get('/callback', passport.authenticate('gatehouse', { successReturnToOrRedirect: '/protected', failureRedirect: '/login' }));
  app.get('/protected', (req, res) => (req.isAuthenticated() ? res.json(req.user) : res.redirect('/login')));
  // snippet: end

  const server = app.listen(o.port, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
