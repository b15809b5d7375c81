// Connection handling below fastify: a request Node's parser refuses must not cost the next request on a reused
// keep-alive connection.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startServer } from '../helpers/server.ts';

function get(agent: http.Agent, base: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('oversized-request-does-not-break-the-next-one: a 431 says Connection: close, so a keep-alive client opens a new connection for its next request', async (t) => {
  const s = await startServer(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  for (let i = 0; i < 20; i++) {
    const big = await get(agent, s.issuer, `/healthz?x=${'a'.repeat(40_000)}`);
    assert.equal(big.status, 431);
    assert.equal(big.headers.connection, 'close', 'the refusal tells the client not to reuse the connection');
    assert.match(big.body, /too large/);
    const next = await get(agent, s.issuer, '/healthz');
    assert.equal(next.status, 200, 'the request after it is served');
  }
});
