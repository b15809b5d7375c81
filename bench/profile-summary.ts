// `npm run bench:profile -- <file.cpuprofile> [more files] [--top N]`: the frames our server spent its own CPU time
// in (self time: the samples whose innermost frame was that function), summed by function and file across the
// files given, highest first, with the share of all samples. Idle time ("(idle)") is left out of the shares;
// "(garbage collector)" and "(program)" (native code outside JavaScript) stay in, since they are where time went.
// A native frame (a system call such as writev, a binding) is named with the nearest frame outside Node's own library
// that called it (the package or our file that asked for the write). The profiler's own start-up (frames under
// node:inspector) is left out.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 15;
const files = args.filter((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
if (!files.length || !Number.isInteger(top) || top < 1) {
  console.error('usage: npm run bench:profile -- <file.cpuprofile> [more files] [--top N]');
  process.exit(2);
}

/** a frame's place: the package for dependencies, else the path inside the project (the server runs dist/) */
function where(url: string): string {
  if (!url) return '(native)';
  const p = url.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = p.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    return `${pkg}/${rest.slice(rest[0]!.startsWith('@') ? 2 : 1).join('/')}`;
  }
  if (p.startsWith('node:')) return p;
  const dist = p.indexOf('/dist/');
  return dist >= 0 ? p.slice(dist + 1) : path.basename(p);
}

const self = new Map<string, number>();
let total = 0;
for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (f: ProfileNode['callFrame']) => `${f.functionName || '(anonymous)'}  ${where(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  prof.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') return;
    const us = prof.timeDeltas[i] ?? 0;
    let key = label(frame);
    let inspector = false;
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) if (byId.get(up)!.callFrame.url === 'node:inspector') inspector = true;
    if (inspector) return;
    if (!frame.url && !frame.functionName.startsWith('(')) {
      let up = parent.get(id);
      const internal = (u: number) => { const url = byId.get(u)!.callFrame.url; return !url || url.startsWith('node:'); };
      while (up !== undefined && internal(up)) up = parent.get(up);
      if (up !== undefined) key = `${frame.functionName} ← ${label(byId.get(up)!.callFrame)}`;
    }
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  });
}

const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`${files.length} profile(s), ${(total / 1000).toFixed(0)} ms of samples (idle left out); top ${rows.length} by self time:`);
for (const [key, us] of rows) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
