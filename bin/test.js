#!/usr/bin/env node
// `npm test`: one PostgreSQL for the whole run (embedded, or DATABASE_URL), then node's test runner.
import { spawn } from 'node:child_process';
const child = spawn(process.execPath, ['--import', 'tsx', 'test/run.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE || '8' },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
