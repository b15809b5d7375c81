// PostgreSQL round trips of the bench server: every query a pg client sends (kysely's statements, BEGIN/COMMIT,
// the pool's own), counted by wrapping pg.Client.prototype.query in the server child only. The orchestrator asks
// for the running total over the child's stdin ("queries") and divides the difference by the operations of a window.
// With BENCH_QUERY_TEXTS=1 the answer also carries how often each statement ran (first 160 characters), to see
// which statements a request pays for. Plain JavaScript: the server child runs the built code, without tsx.
import pg from 'pg';

let total = 0;
const texts = new Map();
const keepTexts = process.env.BENCH_QUERY_TEXTS === '1';

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
    return original.apply(this, args);
  };
}

export function roundTripSnapshot() {
  return { total, ...(keepTexts ? { texts: Object.fromEntries(texts) } : {}) };
}
