import nunjucks from 'nunjucks';
import { publicDir, viewsDir } from '../paths.ts';

export { publicDir, viewsDir };

export type Render = (template: string, context: Record<string, unknown>) => string;

/** `globals`: values every template sees (e.g. whether security keys can work on this server) */
export function createRenderer(opts: { watch?: boolean; globals?: Record<string, unknown> } = {}): Render {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir, { noCache: opts.watch ?? false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  for (const [name, value] of Object.entries(opts.globals ?? {})) env.addGlobal(name, value);
  return (template, context) => env.render(template, context);
}
