// PostgreSQL round trips of the bench server: every query a pg client sends (kysely's statements, BEGIN/COMMIT,
// the pool's own), counted by wrapping pg.Client.prototype.query in the server child only. The orchestrator asks
// for the running total over the child's stdin ("queries") and divides the difference by the operations of a window.
// With BENCH_QUERY_TEXTS=1 the answer also carries how often each statement ran (first 160 characters), to see
// which statements a request pays for. With BENCH_CAPTURE_STATEMENTS=1 it also keeps each distinct statement with the
// values of its last run ("statements" returns and clears them), so that the orchestrator can EXPLAIN the real
// statements of a flow on the real data (bench/lib/plans.ts). Plain JavaScript: the server child runs the built code, without tsx.
import pg from 'pg';

let total = 0;
const texts = new Map();
const keepTexts = process.env.BENCH_QUERY_TEXTS === '1';
const captureStatements = process.env.BENCH_CAPTURE_STATEMENTS === '1';
const captured = new Map();

export function countRoundTrips() {
  const proto = pg.Client.prototype;
  const original = proto.query;
  proto.query = function query(...args) {
    total++;
    if (keepTexts) {
      const q = args[0];
      const text = (typeof q === 'string' ? q : (q?.text ?? '?')).replace(/\s+/g, ' ').slice(0, 160);
      texts.set(text, (texts.get(text) ?? 0) + 1);
    }
    if (captureStatements) {
      const [q, values] = args;
      const text = typeof q === 'string' ? q : q?.text;
      if (text) captured.set(text, Array.isArray(values) ? values : (q?.values ?? []));
    }
    return original.apply(this, args);
  };
}

export function roundTripSnapshot() {
  return { total, ...(keepTexts ? { texts: Object.fromEntries(texts) } : {}) };
}

/** the statements captured since the last call, each with the values of its last run */
export function takeStatements() {
  const out = [...captured].map(([text, values]) => ({ text, values }));
  captured.clear();
  return out;
}
