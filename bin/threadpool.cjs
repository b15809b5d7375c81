'use strict';
// libuv's thread pool, made before anything queues work on it. Required first by bin/start.cjs; the bench's server
// child preloads it (`node --require`). CommonJS on purpose: an ES module entry is read through the pool, so by the
// time its first line runs the pool exists, with libuv's default of 4 threads whatever UV_THREADPOOL_SIZE then says.
const { isMainThread, Worker } = require('node:worker_threads');

// argon2 and token signing (WebCrypto) share the pool: 8 threads, so that signing never queues behind hashes
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '8';

// A sign-in flood keeps every core hashing. The pool's threads run at a lower priority (nice +10) than the thread
// that serves requests, so the server keeps answering (token, pages, health) while hashes take what CPU is left.
// Linux keeps a nice value per thread and a new thread inherits its creator's: the pool is made by a short-lived
// worker thread that first lowers its own priority. An unprivileged process cannot raise a priority again, so the
// serving thread must never lower its own. Elsewhere (a nice value there is per process) the pool stays as it is.
const HASHING_NICE = 10;

if (isMainThread && process.platform === 'linux') {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const maker = new Worker(
    `const os = require('node:os');
     const { workerData: done } = require('node:worker_threads');
     try { os.setPriority(0, Math.min(19, os.getPriority(0) + ${HASHING_NICE})); } catch {}
     require('node:fs').stat(process.execPath, () => { Atomics.store(done, 0, 1); Atomics.notify(done, 0); });`,
    { eval: true, workerData: done },
  );
  // nothing else may queue work before the worker has: wait here, synchronously, while it makes the pool
  Atomics.wait(done, 0, 0, 10_000);
  maker.unref();
}
