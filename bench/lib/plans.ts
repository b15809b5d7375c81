// EXPLAIN (ANALYZE, BUFFERS) of the real statements of a flow on the seeded data: our server captures each statement
// with the values of its last run (bench/lib/roundtrips.js), and each is run again here inside a transaction that is
// rolled back, so that writes (a consumed code, a rotated token) leave no trace. A sequential scan of a table with
// more than LARGE_ROWS rows is what the scale figure reports: on a million users it is a query that grows with them.
import pg from 'pg';

const LARGE_ROWS = 10_000;

type PlanNode = { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; Plans?: PlanNode[] };

export interface StatementPlan {
  statement: string;
  ms: number;
  shared_hit: number;
  shared_read: number;
  seq_scans: string[];
  indexes: string[];
  error?: string;
}

function walk(node: PlanNode, large: Set<string>, out: { seq: string[]; idx: string[] }) {
  if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] && large.has(node['Relation Name'])) out.seq.push(node['Relation Name']);
  if (node['Index Name']) out.idx.push(node['Index Name']);
  for (const p of node.Plans ?? []) walk(p, large, out);
}

export async function explainStatements(url: string, statements: { text: string; values: unknown[] }[]): Promise<StatementPlan[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const sizes = await client.query<{ relname: string; n: number }>(`SELECT relname, reltuples::bigint AS n FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`);
    const large = new Set(sizes.rows.filter((r) => Number(r.n) > LARGE_ROWS).map((r) => r.relname));
    const out: StatementPlan[] = [];
    for (const st of statements) {
      if (!/^\s*(select|update|delete|with|insert)/i.test(st.text)) continue;
      const statement = st.text.replace(/\s+/g, ' ').slice(0, 240);
      await client.query('BEGIN');
      try {
        const res = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${st.text}`, st.values);
        const top = (res.rows[0] as { 'QUERY PLAN': { Plan: PlanNode & { 'Shared Hit Blocks'?: number; 'Shared Read Blocks'?: number }; 'Execution Time': number }[] })['QUERY PLAN'][0]!;
        const found = { seq: [] as string[], idx: [] as string[] };
        walk(top.Plan, large, found);
        out.push({ statement, ms: Math.round(top['Execution Time'] * 1000) / 1000, shared_hit: top.Plan['Shared Hit Blocks'] ?? 0, shared_read: top.Plan['Shared Read Blocks'] ?? 0, seq_scans: found.seq, indexes: [...new Set(found.idx)] });
      } catch (err) {
        // e.g. a second INSERT of a row the flow already inserted: the statement's plan is not what failed
        out.push({ statement, ms: NaN, shared_hit: 0, shared_read: 0, seq_scans: [], indexes: [], error: (err as Error).message.slice(0, 200) });
      } finally {
        await client.query('ROLLBACK');
      }
    }
    return out;
  } finally {
    await client.end();
  }
}
