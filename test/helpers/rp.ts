// A relying party built on openid-client, as a real app would use Gatehouse.
import * as oidc from 'openid-client';
import { HttpBrowser, formOn, type Page } from './http-browser.ts';

export interface RpClient {
  clientId: string;
  clientSecret?: string;
  redirectUri: string;
}

export async function discover(issuer: string, c: { clientId: string; clientSecret?: string }): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), c.clientId, c.clientSecret, c.clientSecret ? undefined : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

export interface AuthRequest {
  url: string;
  verifier: string;
  state: string;
  nonce: string;
}

export async function authorizationRequest(config: oidc.Configuration, redirectUri: string, params: Record<string, string> = {}): Promise<AuthRequest> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...params,
  });
  return { url: url.toString(), verifier, state, nonce };
}

export async function redeem(config: oidc.Configuration, req: AuthRequest, callbackUrl: string) {
  return oidc.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: req.verifier,
    expectedState: req.state,
    expectedNonce: req.nonce,
  });
}

/** drives the sign-in page over HTTP; returns the callback URL the browser would be sent to */
export async function signInOverHttp(
  browser: HttpBrowser,
  authUrl: string,
  redirectUri: string,
  creds?: { email: string; password: string },
): Promise<{ callbackUrl?: string; page: Page }> {
  const atCallback = (u: string) => u.startsWith(redirectUri);
  let page = await browser.get(authUrl, atCallback);
  if (atCallback(page.url)) return { callbackUrl: page.url, page };
  if (!creds) return { page };
  const form = formOn(page, '/login');
  page = await browser.request(form.action, { form: { ...form.fields, email: creds.email, password: creds.password } });
  page = await browser.follow(page, atCallback);
  if (page.body.includes('/consent"')) {
    const consent = formOn(page, '/consent');
    page = await browser.follow(await browser.request(consent.action, { form: consent.fields }), atCallback);
  }
  return { callbackUrl: atCallback(page.url) ? page.url : undefined, page };
}

export { oidc, HttpBrowser };
