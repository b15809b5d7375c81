// Child process: the B_lib_cc baseline. Bare oidc-provider (same version as ours) with its default in-memory
// adapter, one static confidential client allowed client_credentials, opaque access tokens (the default format), or
// ES256 JWT access tokens when the request names a resource (RFC 8707), as ours does,
// mounted on plain node:http. Prints "ready <port>"; exits when stdin closes or on SIGTERM.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.BENCH_PORT);
const clientId = process.env.BENCH_CC_CLIENT_ID;
const clientSecret = process.env.BENCH_CC_CLIENT_SECRET;
if (!port || !clientId || !clientSecret) {
  console.error('serve-bare: BENCH_PORT, BENCH_CC_CLIENT_ID and BENCH_CC_CLIENT_SECRET are required');
  process.exit(2);
}

// real signing keys, as ours has (ES256 and RS256; the provider would otherwise generate a development one)
const es = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const rs = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const keys = [
  { ...es.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench-es256' },
  { ...rs.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'bench-rs256' },
];

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  scopes: ['api'],
  jwks: { keys: keys as never[] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // a `resource` gets an ES256 JWT access token, as ours does (the JWT baseline); without one, opaque
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined as unknown as string,
      getResourceServerInfo: (_ctx, resource) => ({ audience: resource, scope: 'api', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
    },
  },
});

const server = http.createServer(provider.callback());
server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();
