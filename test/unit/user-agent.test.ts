// The sessions list names browser and system from the user agent: the big families, in the right order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeUserAgent } from '../../src/domain/accounts/user-agent.ts';

test('sessions list names browser and OS from the user agent', () => {
  const cases: [string, string | null][] = [
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome on macOS'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge on Windows'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox on Linux'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', 'Safari on iOS'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome on Android'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 'Safari on macOS'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0', 'Opera on Windows'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36', 'Chrome on Linux'],
    ['something else entirely', null],
    ['', null],
  ];
  for (const [ua, expected] of cases) assert.equal(describeUserAgent(ua), expected, ua);
});

test('sessions list: the words around browser and system names are the page language’s, the names stay', () => {
  const german = { browserOn: (b: string, s: string) => `${b} auf ${s}`, aBrowserOn: (s: string) => `Ein Browser auf ${s}` };
  assert.equal(describeUserAgent('Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', german), 'Firefox auf Linux');
  assert.equal(describeUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64) UnknownThing/1.0', german), 'Ein Browser auf Windows');
});
