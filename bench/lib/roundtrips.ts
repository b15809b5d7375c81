// PostgreSQL round trips of the bench server: every query a pg client sends (kysely's statements, BEGIN/COMMIT,
// the pool's own), counted by wrapping pg.Client.prototype.query in the server child only. The orchestrator asks
// for the running total over the child's stdin ("queries") and divides the difference by the operations of a window.
// With BENCH_QUERY_TEXTS=1 the answer also carries how often each statement ran (first 160 characters), to see
// which statements a request pays for.
import pg from 'pg';

let total = 0;
const texts = new Map<string, number>();
const keepTexts = process.env.BENCH_QUERY_TEXTS === '1';

export function countRoundTrips(): void {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown; __counted?: boolean };
  if (proto.__counted) return;
  const original = proto.query;
  proto.query = function query(this: unknown, ...args: unknown[]) {
    total++;
    if (keepTexts) {
      const q = args[0];
      const text = (typeof q === 'string' ? q : (q as { text?: string } | undefined)?.text ?? '?').replace(/\s+/g, ' ').slice(0, 160);
      texts.set(text, (texts.get(text) ?? 0) + 1);
    }
    return original.apply(this, args);
  };
  proto.__counted = true;
}

export function roundTripSnapshot(): { total: number; texts?: Record<string, number> } {
  return { total, ...(keepTexts ? { texts: Object.fromEntries(texts) } : {}) };
}
