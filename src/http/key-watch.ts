// Live key rotation: every node looks at the signing keys' fingerprint every few seconds (GATEHOUSE_KEY_POLL_SECONDS)
// and, when a key was added, started signing, retired or was purged, rebuilds its provider with the new key set.
// Only the mounted provider signs (ID tokens, JWT access tokens, logout tokens) and publishes the JWKS, so swapping
// its request handler is enough; everything else it stores lives in PostgreSQL and is shared.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../container.ts';

export function watchSigningKeys(app: FastifyInstance, services: Services, reload: (jwks: Record<string, unknown>[]) => void): void {
  let last: string | undefined;
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      const fingerprint = await services.keys.fingerprint();
      if (last !== undefined && fingerprint !== last) {
        reload(await services.keys.privateJwks());
        app.log.info({ keys: fingerprint }, 'signing keys changed: provider reloaded');
      }
      last = fingerprint;
    } catch (err) {
      app.log.warn({ err }, 'signing key check failed; keeping the current keys');
    } finally {
      running = false;
    }
  };
  void check();
  const timer = setInterval(check, services.config.keyPollSeconds * 1000);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
