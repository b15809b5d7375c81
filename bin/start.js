#!/usr/bin/env node
// argon2 and WebCrypto share libuv's threadpool: size it before anything uses it (see README).
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '8';
const { register } = await import('tsx/esm/api');
register();
await import('../src/main.ts');
