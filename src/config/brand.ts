// The deployment's brand (name, logo, colour, support link, footer), checked at start: a bad value stops the
// server with a message naming the variable, never a broken page later.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Brand {
  name: string;
  /** a file of ours, served at url (/brand/…) */
  logo?: { file: string; url: string; contentType: string };
  /** the primary colour on light pages (≥ 4.5:1 against white, and white text on it) */
  color: string;
  /** the same hue lightened until it reaches 4.5:1 on every dark-theme surface (links and buttons in dark mode) */
  colorDark: string;
  supportUrl?: string;
  footer?: string;
}

export interface BrandInput {
  name?: string;
  logo?: string;
  color?: string;
  supportUrl?: string;
  footer?: string;
  /** GATEHOUSE_BRAND_FILE: a JSON file with the same fields ({ name, logo, color, supportUrl, footer }) */
  file?: string;
}

type Fail = (variable: string, message: string) => never;

export const DEFAULT_BRAND_COLOR = '#0b57d0';
/** the lightest surface links sit on in the dark theme (public/gatehouse.css --subtle in dark mode) */
export const DARK_SURFACE = '#262c36';
const LOGO_TYPES: Record<string, string> = { '.png': 'image/png', '.svg': 'image/svg+xml', '.webp': 'image/webp', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg' };
const MAX_LOGO_BYTES = 256 * 1024;

/** #rgb or #rrggbb, lower-cased to #rrggbb: nothing else can reach the style sheet (no CSS injection) */
export function parseHexColor(value: string): string | null {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(value.trim());
  if (!m) return null;
  const hex = m[1]!.length === 3 ? [...m[1]!].map((c) => c + c).join('') : m[1]!;
  return `#${hex.toLowerCase()}`;
}

function channels(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** WCAG 2 relative luminance */
export function luminance(hex: string): number {
  const [r, g, b] = channels(hex).map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio, 1 to 21 */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** mixes the colour with white in small steps until it reaches AA (4.5:1) against `background` */
export function lightenForContrast(hex: string, background: string): string {
  const [r, g, b] = channels(hex);
  for (let step = 0; step <= 20; step++) {
    const f = step / 20;
    const mixed = `#${[r, g, b].map((c) => Math.round(c + (255 - c) * f).toString(16).padStart(2, '0')).join('')}`;
    if (contrast(mixed, background) >= 4.5) return mixed;
  }
  return '#ffffff';
}

function safeText(value: unknown, variable: string, max: number, fail: Fail): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return fail(variable, 'must be text');
  const text = value.trim();
  if (text.length > max) return fail(variable, `must be at most ${max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(text)) return fail(variable, 'must be one line without control characters');
  return text;
}

export function parseBrand(input: BrandInput, fail: Fail): Brand {
  let fromFile: Record<string, unknown> = {};
  if (input.file) {
    if (!existsSync(input.file)) fail('GATEHOUSE_BRAND_FILE', `no such file: ${input.file}`);
    try {
      fromFile = JSON.parse(readFileSync(input.file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      fail('GATEHOUSE_BRAND_FILE', `is not valid JSON (${(err as Error).message})`);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) fail('GATEHOUSE_BRAND_FILE', 'must hold a JSON object');
    const unknown = Object.keys(fromFile).filter((k) => !['name', 'logo', 'color', 'supportUrl', 'footer'].includes(k));
    if (unknown.length) fail('GATEHOUSE_BRAND_FILE', `unknown field(s) ${unknown.join(', ')}; allowed: name, logo, color, supportUrl, footer`);
  }
  // a variable wins over the file's field of the same name
  const pick = (key: keyof Omit<BrandInput, 'file'>) => input[key] ?? fromFile[key];
  const where = (key: string, variable: string) => (input[key as keyof BrandInput] !== undefined ? variable : `GATEHOUSE_BRAND_FILE (${key})`);

  const name = safeText(pick('name'), where('name', 'GATEHOUSE_BRAND_NAME'), 60, fail) ?? 'Gatehouse';
  const footer = safeText(pick('footer'), where('footer', 'GATEHOUSE_BRAND_FOOTER'), 200, fail);

  const rawColor = safeText(pick('color'), where('color', 'GATEHOUSE_BRAND_COLOR'), 100, fail);
  const color = rawColor === undefined ? DEFAULT_BRAND_COLOR : parseHexColor(rawColor);
  if (!color) return fail(where('color', 'GATEHOUSE_BRAND_COLOR'), `must be a colour written #rgb or #rrggbb, got "${rawColor}"`);
  const ratio = contrast(color, '#ffffff');
  if (ratio < 4.5) {
    return fail(
      where('color', 'GATEHOUSE_BRAND_COLOR'),
      `${color} has a contrast of ${ratio.toFixed(2)}:1 against white; links and white button text need at least 4.5:1 (WCAG AA). Choose a darker shade.`,
    );
  }

  const rawSupport = safeText(pick('supportUrl'), where('supportUrl', 'GATEHOUSE_BRAND_SUPPORT_URL'), 500, fail);
  let supportUrl: string | undefined;
  if (rawSupport !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(rawSupport);
    } catch {
      /* refused below */
    }
    if (!url || !['https:', 'http:', 'mailto:'].includes(url.protocol)) fail(where('supportUrl', 'GATEHOUSE_BRAND_SUPPORT_URL'), 'must be an absolute https://, http:// or mailto: URL');
    supportUrl = url!.href;
  }

  const rawLogo = safeText(pick('logo'), where('logo', 'GATEHOUSE_BRAND_LOGO'), 1000, fail);
  let logo: Brand['logo'];
  if (rawLogo !== undefined) {
    const variable = where('logo', 'GATEHOUSE_BRAND_LOGO');
    // a path relative to the brand file is read from beside it
    const file = path.resolve(input.file && input.logo === undefined ? path.dirname(input.file) : '.', rawLogo);
    const contentType = LOGO_TYPES[path.extname(file).toLowerCase()];
    if (!contentType) fail(variable, `must be a .png, .svg, .webp or .jpg file, got "${rawLogo}"`);
    if (!existsSync(file) || !statSync(file).isFile()) fail(variable, `no such file: ${file}`);
    if (statSync(file).size > MAX_LOGO_BYTES) fail(variable, `must be at most ${MAX_LOGO_BYTES / 1024} KiB`);
    logo = { file, contentType: contentType!, url: `/brand/logo${path.extname(file).toLowerCase()}` };
  }

  return { name, footer, color, colorDark: lightenForContrast(color, DARK_SURFACE), supportUrl, logo };
}
