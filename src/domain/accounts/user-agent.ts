// "Chrome on macOS": the browser and system families of a User-Agent header, for the sessions list. A few lines for
// the big families rather than a library: the list only needs a recognisable name, and an unknown agent just shows
// no name. Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari", iOS also says "Mac OS X".
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|CriOS|Chromium|HeadlessChrome)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bcurl\//, 'curl'],
];
const SYSTEMS: [RegExp, string][] = [
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/** the words around the names (proper names stay as they are in every language); pages pass their catalogue's */
export interface DeviceWords {
  browserOn(browser: string, system: string): string;
  aBrowserOn(system: string): string;
}

const ENGLISH: DeviceWords = { browserOn: (browser, system) => `${browser} on ${system}`, aBrowserOn: (system) => `A browser on ${system}` };

export function describeUserAgent(ua: string | null | undefined, words: DeviceWords = ENGLISH): string | null {
  if (!ua) return null;
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  if (browser && system) return words.browserOn(browser, system);
  return browser ?? (system ? words.aBrowserOn(system) : null);
}
