// Every word a template shows comes from the message catalogues: a scanner over views/**/*.njk finds text nodes
// and user-facing attributes written as literals instead of {{ t(...) }}.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { viewsDir } from '../../src/http/views.ts';

const LETTER = /\p{L}/u;
const ATTRIBUTES = /\s(placeholder|title|aria-label|alt|value)\s*=\s*"([^"]*)"/g;

/** what remains of a piece of template once nunjucks tags, expressions and comments are taken out */
function literal(text: string): string {
  return text
    .replace(/\{\{[\s\S]*?\}\}/g, ' ')
    .replace(/\{%[\s\S]*?%\}/g, ' ')
    .replace(/&[#\w]+;/g, ' ')
    // a path shown as itself (the discovery document's address) is not language
    .replace(/(^|\s)\/[\w./-]*(?=\s|$)/g, ' ')
    .trim();
}

/** the untranslated literals of one template: text nodes, and the attributes people read or hear */
export function untranslated(source: string, plainText = false): string[] {
  const found: string[] = [];
  // comments first; then expressions and tags, which may contain "<", ">" or quoted markup
  const stripped = source
    .replace(/\{#[\s\S]*?#\}/g, '')
    // a block that fills in a class name is markup, not text
    .replace(/\{%-?\s*block\s+\w*[cC]lass\s*-?%\}[\s\S]*?\{%-?\s*endblock\s*-?%\}/g, '')
    .replace(/\{\{[\s\S]*?\}\}/g, '{{}}')
    .replace(/\{%[\s\S]*?%\}/g, '{%%}');
  if (plainText) {
    for (const line of stripped.split('\n')) if (LETTER.test(literal(line))) found.push(literal(line));
    return found;
  }
  const html = stripped.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, '').replace(/<!--[\s\S]*?-->/g, '').replace(/<!doctype[^>]*>/gi, '');
  for (const m of html.matchAll(/>([^<]*)</g)) {
    const text = literal(m[1]!);
    if (LETTER.test(text)) found.push(text);
  }
  // text before the first tag or after the last one (a partial may start with text)
  for (const edge of [html.split('<')[0]!, html.split('>').at(-1)!]) if (LETTER.test(literal(edge))) found.push(literal(edge));
  for (const tag of html.matchAll(/<([a-z][\w-]*)\b[^>]*>/gi)) {
    // an input button shows its value; a <button>'s value is only sent, its content is what people read
    const isButtonValue = /^input$/i.test(tag[1]!) && /type\s*=\s*"(submit|button|reset)"/i.test(tag[0]);
    for (const a of tag[0].matchAll(ATTRIBUTES)) {
      if (a[1] === 'value' && !isButtonValue) continue;
      const text = literal(a[2]!);
      if (LETTER.test(text)) found.push(`${a[1]}="${text}"`);
    }
  }
  return [...new Set(found)];
}

function templates(dir = viewsDir, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? templates(path.join(dir, e.name), `${prefix}${e.name}/`) : e.name.endsWith('.njk') ? [`${prefix}${e.name}`] : [],
  );
}

const isPlain = (name: string) => name.endsWith('.txt.njk') || name.endsWith('.subject.njk');

test('the scanner finds literal text nodes and user-facing attributes, and accepts t() and markup', () => {
  assert.deepEqual(untranslated('<p>Hello {{ name }}</p>'), ['Hello']);
  assert.deepEqual(untranslated('<input placeholder="Your email" aria-label="{{ t(\'x\') }}">'), ['placeholder="Your email"']);
  assert.deepEqual(untranslated('<img src="/a.png" alt="Logo"><button title="Close">×</button>'), ['alt="Logo"', 'title="Close"']);
  assert.deepEqual(untranslated('<input type="submit" value="Go"><input type="hidden" name="x" value="abc"><button value="yes">{{ t("a") }}</button>'), ['value="Go"']);
  assert.deepEqual(untranslated('{% block cardClass %}wide{% endblock %}<p>{{ issuer }}/.well-known/openid-configuration</p>'), []);
  assert.deepEqual(untranslated('<p>{{ t("a.b") }} · <strong>{{ name }}</strong> &#9670;</p>{% if a > b %}<br>{% endif %}{# a note #}'), []);
  assert.deepEqual(untranslated('{{ t("email.hello") }}\n\nRegards\n', true), ['Regards']);
});

test('no template contains an untranslated literal', () => {
  const offenders: Record<string, string[]> = {};
  for (const name of templates()) {
    const found = untranslated(readFileSync(path.join(viewsDir, name), 'utf8'), isPlain(name));
    if (found.length) offenders[name] = found;
  }
  assert.deepEqual(offenders, {});
});
