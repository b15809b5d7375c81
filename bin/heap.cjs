'use strict';
// How far V8 lets its old generation grow past what the last full collection found live. Required by bin/start.cjs;
// the bench's server child preloads it (`node --require`).
//
// V8 picks its own factor, up to 4× when it measures that collecting costs the application time. A sign-in stays in
// flight for the length of a hash, so most of what a request allocates outlives the young generation and dies in the
// old one: after a flood of sign-ins V8 had let the heap grow to 130–186 MiB with 48–160 MiB of it in use, against
// about 50 MiB live. With the growth held to half of what is live (1.5×) a full collection comes sooner and the heap
// stays near what is live: after the same load our RSS was 140–155 MiB instead of 170–250, and the refresh rate did
// not move in side-by-side runs (measured on Node 20). A node started with its own `--heap-growing-percent` keeps it.
const HEAP_GROWING_PERCENT = 50;

if (!process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) {
  require('node:v8').setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
