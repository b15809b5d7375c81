// `node --import ./test/helpers/print-packages.mjs …`: prints "package <name>" for every package the process resolves
// a module of (its module hooks run on a thread of their own; the line goes to stdout).
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
      const seen = new Set();
      export async function resolve(specifier, context, next) {
        const r = await next(specifier, context);
        const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
        if (m && !seen.has(m[1])) { seen.add(m[1]); console.log('package ' + m[1]); }
        return r;
      }`),
);
