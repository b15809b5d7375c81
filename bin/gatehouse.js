#!/usr/bin/env node
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '8';
const { register } = await import('tsx/esm/api');
register();
const { run } = await import('../src/cli/main.ts');
process.exitCode = await run(process.argv.slice(2));
