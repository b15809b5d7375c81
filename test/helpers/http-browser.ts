// A minimal browser over fetch: a cookie jar and manual redirects, to drive sign-in pages without Chromium.
export interface Page {
  url: string;
  status: number;
  body: string;
  headers: Headers;
}

/** one Set-Cookie header line: the cookie's name, value and path (default "/"); `expired` when it deletes the cookie */
export function parseSetCookie(line: string): { name: string; value: string; path: string; expired: boolean } {
  const [pair, ...attrs] = line.split(';');
  const eq = pair!.indexOf('=');
  const name = pair!.slice(0, eq).trim();
  const value = pair!.slice(eq + 1).trim();
  const pathAttr = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='));
  const path = pathAttr ? pathAttr.slice(5) : '/';
  const expired = attrs.some((a) => /expires=thu, 01 jan 1970/i.test(a.trim())) || value === '';
  return { name, value, path, expired };
}

export class HttpBrowser {
  private jar = new Map<string, { value: string; path: string }>();

  cookies(): Map<string, string> {
    return new Map([...this.jar].map(([k, v]) => [k, v.value]));
  }

  private store(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const { name, value, path, expired } = parseSetCookie(line);
      const key = `${name}|${path}`;
      if (expired) this.jar.delete(key);
      else this.jar.set(key, { value, path });
    }
  }

  private cookieHeader(url: URL): string {
    return [...this.jar]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([k, c]) => `${k.split('|')[0]}=${c.value}`)
      .join('; ');
  }

  /** one request, no redirect following */
  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const u = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
    const cookie = this.cookieHeader(u);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(u, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.store(res);
    return { url, status: res.status, body: await res.text(), headers: res.headers };
  }

  /** follows redirects until a page that is not a redirect, or a URL that `stopAt` matches (returned unfetched) */
  async follow(page: Page, stopAt?: (url: string) => boolean): Promise<Page> {
    let current = page;
    for (let i = 0; i < 10 && current.status >= 300 && current.status < 400; i++) {
      const next = new URL(current.headers.get('location')!, current.url).toString();
      if (stopAt?.(next)) return { url: next, status: 0, body: '', headers: new Headers() };
      current = await this.request(next);
    }
    return current;
  }

  async get(url: string, stopAt?: (url: string) => boolean): Promise<Page> {
    if (stopAt?.(url)) return { url, status: 0, body: '', headers: new Headers() };
    return this.follow(await this.request(url), stopAt);
  }
}

/** values of a form on the page: its action and hidden inputs */
export function formOn(page: Page, actionContains: string): { action: string; fields: Record<string, string> } {
  const forms = [...page.body.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
  const f = forms.find((m) => m[1]!.includes(actionContains));
  if (!f) throw new Error(`no form with action containing ${actionContains} on ${page.url} (status ${page.status}):\n${page.body.slice(0, 500)}`);
  const fields: Record<string, string> = {};
  for (const m of f[2]!.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[m[1]!] = m[2]!.replace(/&amp;/g, '&');
  return { action: new URL(f[1]!.replace(/&amp;/g, '&'), page.url).toString(), fields };
}

/** an HttpBrowser that sends a User-Agent header (the sessions list names browser and system from it) */
export class AgentBrowser extends HttpBrowser {
  constructor(private agent: string) {
    super();
  }
  override request(url: string, init: Parameters<HttpBrowser['request']>[1] = {}) {
    return super.request(url, { ...init, headers: { 'user-agent': this.agent, ...init.headers } });
  }
}

export const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
export const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
