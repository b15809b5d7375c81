// The rig's generated configuration files: PgBouncer (transaction pooling) and HAProxy (round-robin, no stickiness,
// health check GET /readyz, retry + redispatch on refused connections, its own 503 with Retry-After).
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** the request header that pins a request to one node (HAProxy `use-server`; ignored while that node is down) */
export const PIN_HEADER = 'x-rig-node';
/** the response header HAProxy adds: which node answered */
export const SERVED_BY = 'x-served-by';

export function writeBouncerConfig(
  dir: string,
  o: { dbName: string; pgPort: number; port: number; user: string; password: string; poolSize?: number; queryWaitTimeout?: number },
): void {
  writeFileSync(path.join(dir, 'userlist.txt'), `"${o.user}" "${o.password}"\n`, { mode: 0o644 });
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${o.dbName} = host=127.0.0.1 port=${o.pgPort} dbname=${o.dbName} user=${o.user} password=${o.password}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${o.port}`,
      'unix_socket_dir =',
      'auth_type = md5',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${o.poolSize ?? 20}`,
      'reserve_pool_size = 0',
      'max_client_conn = 500',
      // the default (120 s) would keep a request waiting for two minutes; a few seconds, then 503 + Retry-After
      `query_wait_timeout = ${o.queryWaitTimeout ?? 5}`,
      'server_connect_timeout = 2',
      // retry PostgreSQL every second after a failed login (restart), so the pools heal within a second or two
      'server_login_retry = 1',
      'ignore_startup_parameters = extra_float_digits,options',
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
}

export function writeProxyConfig(dir: string, o: { port: number; nodes: { name: string; port: number }[] }): void {
  // while every node is unready (the database is out) HAProxy answers itself: the same 503 + Retry-After as a node
  writeFileSync(
    path.join(dir, '503.http'),
    ['HTTP/1.1 503 Service Unavailable', 'Content-Type: text/plain; charset=utf-8', 'Cache-Control: no-store', 'Retry-After: 5', 'Connection: close', '', 'Temporarily unavailable, try again in a few seconds.', ''].join('\r\n'),
  );
  writeFileSync(
    path.join(dir, 'haproxy.cfg'),
    [
      'global',
      '  maxconn 1000',
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  timeout check 2s',
      // only a refused connection is retried (nothing was sent): a token request is not idempotent
      '  retries 3',
      '  retry-on conn-failure',
      '  option redispatch 1',
      `  errorfile 503 ${path.join(dir, '503.http')}`,
      'frontend web',
      `  bind 127.0.0.1:${o.port}`,
      '  default_backend nodes',
      'backend nodes',
      '  balance roundrobin',
      '  option httpchk GET /readyz',
      '  http-check expect status 200',
      `  http-response set-header ${SERVED_BY} %[srv_name]`,
      ...o.nodes.map((n) => `  use-server ${n.name} if { req.hdr(${PIN_HEADER}) -m str ${n.name} }`),
      '  default-server inter 500ms fall 2 rise 1',
      ...o.nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.port} check`),
      '',
    ].join('\n'),
  );
}
