#!/usr/bin/env node
// `npm run build`: TypeScript → dist/ (tsc with tsconfig.build.json; relative `.ts` imports are rewritten to `.js`).
// `npm start` (bin/start.cjs) calls ensureBuilt(): it compiles only when dist/ is missing or older than a source file
// (a walk of the file dates, a few milliseconds), so a fresh clone needs only `npm install && npm start`.
// An image built without the sources (the Dockerfile's runtime stage) has nothing newer: dist/ is used as it is.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const stamp = path.join(root, 'dist', '.built');
const inputs = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json'];

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((name) => newest(path.join(p, name))));
}

export function build() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) throw new Error(`the build failed (tsc exit ${r.status})`);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}

/** dist/ exists and no source is newer */
export function isFresh() {
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  return built > 0 && inputs.every((i) => newest(path.join(root, i)) <= built);
}

/** builds when dist/ is missing or stale; true when it built */
export function ensureBuilt() {
  if (isFresh()) return false;
  const built = existsSync(stamp);
  process.stderr.write(built ? 'gatehouse: sources changed, building dist/ …\n' : 'gatehouse: building dist/ (first start) …\n');
  build();
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) build();
