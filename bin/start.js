#!/usr/bin/env node
// argon2 and WebCrypto share libuv's threadpool: size it before anything uses it (see README).
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '8';
// the server runs the compiled JavaScript (dist/), built here first when missing or older than the sources
const { ensureBuilt } = await import('./build.js');
ensureBuilt();
await import('../dist/src/main.js');
