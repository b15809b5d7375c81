// `node --import ./test/helpers/print-packages.mjs …`: prints "package <name>" for every package the process resolves
// a module of. The module hooks run on a thread of their own, whose console.log reaches stdout asynchronously (on
// Node 24 a line could be lost when the process ended first): each line is written to fd 1 synchronously instead,
// before the resolve it reports returns.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
      import { writeSync } from 'node:fs';
      const seen = new Set();
      export async function resolve(specifier, context, next) {
        const r = await next(specifier, context);
        const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
        if (m && !seen.has(m[1])) { seen.add(m[1]); writeSync(1, 'package ' + m[1] + '\\n'); }
        return r;
      }`),
);
