// The embedded PostgreSQL: our connections use its Unix socket (cheaper per statement than loopback TCP), TCP on
// 127.0.0.1 stays open for tools, and a second process attached to the running server finds the same socket.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { freePort } from '../helpers/net.ts';

async function serverAddress(connectionString: string): Promise<string | null> {
  const c = new pg.Client({ connectionString });
  await c.connect();
  try {
    return (await c.query<{ addr: string | null }>('select inet_client_addr()::text as addr')).rows[0]!.addr;
  } finally {
    await c.end();
  }
}

test('embedded-database-connects-over-its-unix-socket, TCP still answers, an attached process uses the socket too', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-sock-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const handle = await startEmbeddedPostgres({ dataDir: dir, port, database: 'socket_check' });
  t.after(async () => {
    await handle.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // a Unix-socket connection has no client address
  assert.equal(await serverAddress(handle.url), null);
  assert.match(decodeURIComponent(new URL(handle.url).hostname), /^\//);
  const password = decodeURIComponent(new URL(handle.url).password);
  assert.equal(await serverAddress(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/socket_check`), '127.0.0.1/32');
  const attached = await startEmbeddedPostgres({ dataDir: dir, port, database: 'socket_check' });
  assert.equal(attached.attached, true);
  assert.equal(attached.url, handle.url);
  assert.equal(await serverAddress(attached.url), null);
});
