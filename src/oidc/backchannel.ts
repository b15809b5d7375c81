// Back-channel logout goes through our durable queue (domain/logout/backchannel-queue.ts) instead of being called
// inline: the library awaits every relying app's answer before finishing the logout, and a failed call is lost.
import type Provider from 'oidc-provider';
import type { BackchannelQueue, BackchannelSend } from '../domain/logout/backchannel-queue.ts';

type LogoutCall = (sub: string, sid?: string) => Promise<void>;

const senders = new WeakMap<Provider, BackchannelSend>();

/**
 * The library's Client#backchannelLogout (it builds and signs the logout token, then POSTs it with a 2.5 s timeout)
 * is replaced by "write a row"; the original is kept to make the call from the worker, with a fresh token each try
 * (its `iat`/`exp` then count from the actual delivery).
 */
export function queueBackchannelLogout(provider: Provider, queue: Pick<BackchannelQueue, 'enqueue'>): void {
  const proto = provider.Client.prototype as unknown as { backchannelLogout: LogoutCall };
  const call = proto.backchannelLogout;
  proto.backchannelLogout = async function enqueue(this: { clientId: string }, sub: string, sid?: string) {
    await queue.enqueue({ clientId: this.clientId, accountId: sub, sid: sid ?? null });
  };
  senders.set(provider, async (job) => {
    const client = await provider.Client.find(job.clientId);
    if (!client?.backchannelLogoutUri) throw new Error('the client is gone or has no back-channel logout URI');
    await call.call(client, job.accountId, job.sid ?? undefined);
  });
}

/** the call the worker makes for one queued logout, signed with `provider`'s current keys */
export function backchannelSender(provider: Provider): BackchannelSend {
  const send = senders.get(provider);
  if (!send) throw new Error('queueBackchannelLogout was not installed on this provider');
  return send;
}
