import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { contrast, type Brand } from '../../config/brand.ts';

function mix(hex: string, towards: string, f: number): string {
  const c = (h: string, i: number) => parseInt(h.slice(i, i + 2), 16);
  return `#${[1, 3, 5].map((i) => Math.round(c(hex, i) + (c(towards, i) - c(hex, i)) * f).toString(16).padStart(2, '0')).join('')}`;
}

/** the brand's colours as CSS custom properties; only validated #rrggbb values reach it (src/config/brand.ts) */
export function themeCss(brand: Pick<Brand, 'color' | 'colorDark'>): string {
  // in dark mode the lightened colour is a button's background: its text is dark when white would not reach 4.5:1
  const onDark = contrast(brand.colorDark, '#ffffff') >= 4.5 ? '#ffffff' : '#0d1117';
  return [
    `:root { --primary: ${brand.color}; --primary-hover: ${mix(brand.color, '#000000', 0.2)}; --on-primary: #ffffff; }`,
    `@media (prefers-color-scheme: dark) { :root { --primary: ${brand.colorDark}; --primary-hover: ${mix(brand.colorDark, '#ffffff', 0.2)}; --on-primary: ${onDark}; } }`,
    '',
  ].join('\n');
}

/** GET /brand/theme.css (the brand colour) and /brand/logo.<ext> (the configured logo file), both from our origin */
export default async function brandRoutes(app: FastifyInstance, opts: { brand: Brand }) {
  const css = themeCss(opts.brand);
  app.get('/brand/theme.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(css));
  const logo = opts.brand.logo;
  if (logo) {
    const bytes = readFileSync(logo.file);
    app.get(logo.url, async (_req, reply) =>
      reply
        .type(logo.contentType)
        .header('cache-control', 'public, max-age=3600')
        // an SVG opened on its own must not run script in our origin
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox")
        .send(bytes),
    );
  }
}
