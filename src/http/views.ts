import nunjucks from 'nunjucks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const viewsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../views');
export const publicDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public');

export type Render = (template: string, context: Record<string, unknown>) => string;

export function createRenderer(opts: { watch?: boolean } = {}): Render {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(viewsDir, { noCache: opts.watch ?? false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  return (template, context) => env.render(template, context);
}
