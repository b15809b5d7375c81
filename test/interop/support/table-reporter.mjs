// node:test reporter for `npm run test:interop`: one row per test (client or plan, flow, result), printed at the end.
// The "client or plan" is the test's top-level describe() name, or the file name for a test outside any describe().
import path from 'node:path';

export default async function* tableReporter(source) {
  const events = [];
  for await (const e of source) {
    if (e.type === 'test:pass' || e.type === 'test:fail') events.push({ ...e.data, failed: e.type === 'test:fail' });
  }
  const rows = [];
  events.forEach((e, i) => {
    if (e.details?.type === 'suite') return;
    let owner = e.nesting === 0 ? path.basename(e.file ?? '?', '.test.ts') : undefined;
    for (let j = i + 1; !owner && j < events.length; j++) {
      const s = events[j];
      if (s.file === e.file && s.nesting === 0 && s.details?.type === 'suite') owner = s.name;
    }
    const result = e.skip ? 'skipped' : e.todo ? 'todo' : e.failed ? 'FAIL' : 'pass';
    rows.push([owner ?? path.basename(e.file ?? '?'), e.name, result, `${Math.round((e.details?.duration_ms ?? 0) / 100) / 10}s`]);
  });
  // a file that failed to load (syntax error, missing package) has no test rows of its own
  for (const e of events) if (e.failed && e.details?.type === 'suite' && e.nesting === 0 && !rows.some((r) => r[0] === e.name)) rows.push([e.name, '(suite)', 'FAIL', '']);
  const head = ['client or plan', 'flow', 'result', 'time'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r) => `| ${r.map((v, c) => v.padEnd(widths[c])).join(' | ')} |`;
  const failed = rows.filter((r) => r[2] === 'FAIL').length;
  yield `\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(line).join('\n')}\n\n${rows.length - failed} passed, ${failed} failed\n`;
}
