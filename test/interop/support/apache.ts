// A real Apache httpd with mod_auth_openidc in front of a page that prints its environment (SSI printenv), run in the
// foreground from a throw-away ServerRoot on a free loopback port, and stopped after the test.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../helpers/net.ts';

const MODULES = '/usr/lib/apache2/modules';
export const APACHE_BIN = '/usr/sbin/apache2';

/**
 * The mod_auth_openidc part of the configuration, exactly as the README's "Works with" section shows it:
 * /protected needs any sign-in, /protected/mfa needs the mfa acr and steps up when the session lacks it.
 */
export function openidcConfig(o: { issuer: string; clientId: string; clientSecret: string; origin: string; passphrase: string }): string {
  return `OIDCProviderMetadataURL ${o.issuer}/.well-known/openid-configuration
OIDCClientID ${o.clientId}
OIDCClientSecret ${o.clientSecret}
OIDCRedirectURI ${o.origin}/protected/redirect_uri
OIDCCryptoPassphrase ${o.passphrase}
OIDCScope "openid email profile"
OIDCPKCEMethod S256
OIDCDefaultLoggedOutURL ${o.origin}/logged-out.html

<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
<Location /protected/mfa>
  AuthType openid-connect
  OIDCPathAuthRequestParams acr_values=urn:gatehouse:acr:mfa
  OIDCUnAutzAction auth
  Require claim acr:urn:gatehouse:acr:mfa
</Location>
`;
}

export interface Apache {
  origin: string;
  redirectUri: string;
  loggedOutUri: string;
  errorLog(): string;
}

/** the origin Apache will listen on (the client must be registered with its redirect URI before Apache starts) */
export async function apacheOrigin(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

export async function startApache(
  t: { after(fn: () => Promise<void>): void },
  o: { origin: string; issuer: string; clientId: string; clientSecret: string },
): Promise<Apache> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-apache-'));
  chmodSync(root, 0o755);
  const docs = path.join(root, 'htdocs');
  mkdirSync(path.join(docs, 'protected', 'mfa'), { recursive: true });
  const page = '<!doctype html><title>protected</title><pre id="env">\n<!--#printenv -->\n</pre>\n';
  writeFileSync(path.join(docs, 'protected', 'index.shtml'), page);
  writeFileSync(path.join(docs, 'protected', 'mfa', 'index.shtml'), page);
  writeFileSync(path.join(docs, 'logged-out.html'), '<!doctype html><title>logged out</title><h1>Signed out of the app</h1>\n');
  const port = new URL(o.origin).port;
  // as root, Apache must hand its workers to an unprivileged user; as anyone else it stays that user
  const asRoot = process.getuid?.() === 0;
  const conf = `ServerRoot "${root}"
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile "${root}/httpd.pid"
ErrorLog "${root}/error.log"
LogLevel warn auth_openidc:info
Mutex file:${root} default
DefaultRuntimeDir "${root}"
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule dir_module ${MODULES}/mod_dir.so
LoadModule include_module ${MODULES}/mod_include.so
LoadModule auth_openidc_module ${MODULES}/mod_auth_openidc.so
${asRoot ? 'User www-data\nGroup www-data' : ''}
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
DocumentRoot "${docs}"
DirectoryIndex index.shtml index.html
<Directory "${docs}">
  Require all granted
  Options +Includes
  <FilesMatch "\\.shtml$">
    ForceType text/html
    SetOutputFilter INCLUDES
  </FilesMatch>
</Directory>

${openidcConfig({ ...o, passphrase: randomBytes(24).toString('hex') })}`;
  const confFile = path.join(root, 'httpd.conf');
  writeFileSync(confFile, conf);
  const child = spawn(APACHE_BIN, ['-f', confFile, '-DFOREGROUND'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = once(child, 'exit');
  const errorLog = () => {
    try {
      return readFileSync(path.join(root, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM'); // graceful stop of the foreground parent and its workers
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  });
  // ready when it answers
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`apache exited (${child.exitCode}):\n${output}\n${errorLog()}`);
    try {
      await fetch(`${o.origin}/logged-out.html`);
      break;
    } catch {
      if (i > 100) throw new Error(`apache did not start:\n${output}\n${errorLog()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { origin: o.origin, redirectUri: `${o.origin}/protected/redirect_uri`, loggedOutUri: `${o.origin}/logged-out.html`, errorLog };
}

/** the environment a protected page printed (SSI printenv: NAME=value lines) */
export function parsePrintenv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return env;
}
