#!/usr/bin/env node
'use strict';
// `npm start`. CommonJS, so that libuv's pool is made here, before an ES module is read (bin/threadpool.cjs).
require('./threadpool.cjs');
// and V8's heap kept near what is live (bin/heap.cjs)
require('./heap.cjs');

(async () => {
  // the server runs the compiled JavaScript (dist/), built here first when missing or older than the sources
  const { ensureBuilt } = await import('./build.js');
  ensureBuilt();
  await import('../dist/src/main.js');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
