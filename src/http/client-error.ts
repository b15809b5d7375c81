// What a connection gets when Node's parser refuses its request before fastify sees it (headers over the size limit,
// a malformed request line, a request that never finished). fastify's default answers without `Connection: close`
// and then destroys the socket: a keep-alive client or proxy that reuses the connection for its next request sees it
// die ("socket hang up"), so one oversized request cost an unrelated one. Saying `Connection: close` tells the peer
// not to reuse it.
import http from 'node:http';
import type { Socket } from 'node:net';

const ANSWERS: Record<string, { status: number; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'The request headers are too large.' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'The request took too long to arrive.' },
};

export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  // the peer is gone: there is nobody to answer
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, message } = ANSWERS[err.code ?? ''] ?? { status: 400, message: 'The request is malformed.' };
  const body = JSON.stringify({ error: http.STATUS_CODES[status], message, statusCode: status });
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }
  socket.destroySoon();
}
