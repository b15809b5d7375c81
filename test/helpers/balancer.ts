// A tiny loopback load balancer: one public port (the issuer every node is configured with) in front of any set of
// nodes, round-robin, changeable while it runs — what a proxy does during a rolling restart.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startBalancer(t: { after(fn: () => Promise<void>): void }, port = 0) {
  let targets: string[] = [];
  let next = 0;
  const server = http.createServer((req, res) => {
    if (targets.length === 0) return res.writeHead(503).end('no node');
    const target = new URL(targets[next++ % targets.length]!);
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.headersSent ? res.destroy() : res.writeHead(502).end('node unreachable'));
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return {
    origin,
    /** the nodes requests go to from now on (their own http://127.0.0.1:port) */
    route(to: string[]) {
      targets = to;
    },
  };
}
