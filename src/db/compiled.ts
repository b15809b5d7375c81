// Hot statements that kysely builds and compiles once per shape; each run binds its own values into the same text.
// Why: the refresh grant's two big statements (the token's read ahead, the rotation) are dozens of nodes each, and
// building and compiling them took about a sixth of our process's CPU per refresh, for a text that never changes.
import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './database.ts';

/** stands for the value at `index` of a run while the statement is built: kysely carries it as any value */
class Slot {
  constructor(readonly index: number) {}
}

interface Template<R> {
  query: CompiledQuery<R>;
  /** per parameter: the run's value it takes (a Slot), or the constant the build put there */
  binds: unknown[];
}

/**
 * `build(db, shape, ...values)` is called once per shape, with a placeholder for each value, and returns the
 * statement. Every value must reach it as one parameter (a comparison, a CAST, an inserted value), never as a list,
 * a literal or an identifier, and nothing else in it may vary within a shape: the first compile of each shape checks
 * that each placeholder arrived as a parameter.
 */
export function compiledOnce<S extends string, V extends unknown[], R>(build: (db: Kysely<Database>, shape: S, ...values: V) => Compilable<R>) {
  const shapes = new Map<S, Template<R>>();
  return async function run(db: Kysely<Database>, shape: S, ...values: V): Promise<QueryResult<R>> {
    let t = shapes.get(shape);
    if (!t) {
      const query = build(db, shape, ...(values.map((_v, i) => new Slot(i)) as V)).compile();
      const seen = new Set(query.parameters.flatMap((p) => (p instanceof Slot ? [p.index] : [])));
      if (seen.size !== values.length) throw new Error(`compiledOnce: ${values.length - seen.size} value(s) of shape "${shape}" did not become parameters`);
      t = { query, binds: [...query.parameters] };
      shapes.set(shape, t);
    }
    const parameters = t.binds.map((b) => (b instanceof Slot ? values[b.index] : b));
    return db.executeQuery<R>({ ...t.query, parameters });
  };
}

/** compiledOnce() for a statement of one shape: `build(db, ...values)` */
export function compiledStatement<V extends unknown[], R>(build: (db: Kysely<Database>, ...values: V) => Compilable<R>) {
  const run = compiledOnce((db: Kysely<Database>, _shape: 'one', ...values: V) => build(db, ...values));
  return (db: Kysely<Database>, ...values: V): Promise<QueryResult<R>> => run(db, 'one', ...values);
}
