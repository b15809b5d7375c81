// The deployment's brand is checked at start: a colour that could inject CSS or fails WCAG AA stops the server.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { contrast, DARK_SURFACE } from '../../src/config/brand.ts';
import { themeCss } from '../../src/http/routes/brand.ts';
import { testConfig } from '../helpers/config.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'gatehouse-brand-unit-'));

test('without brand settings the product is Gatehouse in its own blue', () => {
  const { brand } = testConfig({});
  assert.equal(brand.name, 'Gatehouse');
  assert.equal(brand.color, '#0b57d0');
  assert.equal(brand.logo, undefined);
});

test('authenticator apps and security keys show the brand name unless GATEHOUSE_TOTP_ISSUER says otherwise', () => {
  assert.equal(testConfig({}).totpIssuer, 'Gatehouse');
  assert.equal(testConfig({ GATEHOUSE_BRAND_NAME: 'Acme ID' }).totpIssuer, 'Acme ID');
  assert.equal(testConfig({ GATEHOUSE_BRAND_NAME: 'Acme ID' }).webauthn.rpName, 'Acme ID');
  assert.equal(testConfig({ GATEHOUSE_BRAND_NAME: 'Acme ID', GATEHOUSE_TOTP_ISSUER: 'Acme' }).totpIssuer, 'Acme');
});

test('no CSS injection: the brand colour must be #rgb or #rrggbb', () => {
  for (const bad of ['red', '#12345', 'rgb(0,0,0)', '#000;} body { display: none', '#0b57d0 !important', 'url(https://evil.example/x)']) {
    assert.throws(() => testConfig({ GATEHOUSE_BRAND_COLOR: bad }), /GATEHOUSE_BRAND_COLOR: must be a colour written #rgb or #rrggbb/, bad);
  }
  assert.equal(testConfig({ GATEHOUSE_BRAND_COLOR: '#05A' }).brand.color, '#0055aa', '#rgb is written out in full');
});

test('contrast: a brand colour below 4.5:1 against white is refused with the ratio it has', () => {
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_COLOR: '#ffcc00' }), /GATEHOUSE_BRAND_COLOR: #ffcc00 has a contrast of 1\.\d\d:1 against white; .* at least 4\.5:1/);
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_COLOR: '#3b82f6' }), /contrast of 3\.\d\d:1/);
});

test('contrast: in dark mode the brand colour is lightened until it reaches AA on every dark surface', () => {
  for (const color of ['#0b57d0', '#6b21a8', '#000000', '#a40e26', '#116329']) {
    const { brand } = testConfig({ GATEHOUSE_BRAND_COLOR: color });
    assert.ok(contrast(brand.color, '#ffffff') >= 4.5, `${color} on white`);
    assert.ok(contrast(brand.colorDark, DARK_SURFACE) >= 4.5, `${brand.colorDark} (from ${color}) on the lightest dark surface`);
    const css = themeCss(brand);
    assert.match(css, new RegExp(`--primary: ${brand.color};`));
    assert.match(css, new RegExp(`@media \\(prefers-color-scheme: dark\\) \\{ :root \\{ --primary: ${brand.colorDark};`));
  }
});

test('GATEHOUSE_BRAND_FILE: a small JSON file, its fields validated, variables win over it', () => {
  const dir = tmp();
  writeFileSync(path.join(dir, 'logo.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
  const file = path.join(dir, 'brand.json');
  writeFileSync(file, JSON.stringify({ name: 'Acme', logo: 'logo.png', color: '#6b21a8', supportUrl: 'mailto:help@acme.example', footer: 'Acme Corp.' }));
  const { brand } = testConfig({ GATEHOUSE_BRAND_FILE: file, GATEHOUSE_BRAND_NAME: 'Acme ID' });
  assert.equal(brand.name, 'Acme ID');
  assert.equal(brand.color, '#6b21a8');
  assert.equal(brand.supportUrl, 'mailto:help@acme.example');
  assert.equal(brand.footer, 'Acme Corp.');
  assert.deepEqual(brand.logo, { file: path.join(dir, 'logo.png'), url: '/brand/logo.png', contentType: 'image/png' }, 'a logo path is read beside the file');

  writeFileSync(file, JSON.stringify({ colour: '#000' }));
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_FILE: file }), /GATEHOUSE_BRAND_FILE: unknown field\(s\) colour/);
  writeFileSync(file, '{ not json');
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_FILE: file }), /GATEHOUSE_BRAND_FILE: is not valid JSON/);
  writeFileSync(file, JSON.stringify({ color: '#fff' }));
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_FILE: file }), /GATEHOUSE_BRAND_FILE \(color\): #ffffff has a contrast/);
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_FILE: path.join(dir, 'missing.json') }), /GATEHOUSE_BRAND_FILE: no such file/);
});

test('the logo is a small image file of ours, and the support link an absolute URL', () => {
  const dir = tmp();
  writeFileSync(path.join(dir, 'logo.gif'), 'GIF89a');
  writeFileSync(path.join(dir, 'big.png'), Buffer.alloc(300 * 1024));
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_LOGO: path.join(dir, 'logo.gif') }), /GATEHOUSE_BRAND_LOGO: must be a .png, .svg, .webp or .jpg file/);
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_LOGO: path.join(dir, 'nope.svg') }), /GATEHOUSE_BRAND_LOGO: no such file/);
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_LOGO: path.join(dir, 'big.png') }), /GATEHOUSE_BRAND_LOGO: must be at most 256 KiB/);
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_SUPPORT_URL: 'javascript:alert(1)' }), /GATEHOUSE_BRAND_SUPPORT_URL: must be an absolute https:\/\/, http:\/\/ or mailto: URL/);
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_NAME: 'x'.repeat(61) }), /GATEHOUSE_BRAND_NAME: must be at most 60 characters/);
  assert.throws(() => testConfig({ GATEHOUSE_BRAND_FOOTER: 'line one\nline two' }), /GATEHOUSE_BRAND_FOOTER: must be one line/);
});
