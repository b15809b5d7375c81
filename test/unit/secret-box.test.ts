import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createSecretBox } from '../../src/domain/crypto/secret-box.ts';

const OLD = { id: 'old', key: randomBytes(32) };
const NEW = { id: 'new', key: randomBytes(32) };
const PLAINTEXT = 'the-private-jwk-d-parameter';

/** flips one bit of the decoded bytes of part i (v1.kid.iv.ct.tag), so the change is never lost to base64 padding */
function flip(sealed: string, i: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[i]!, 'base64url');
  bytes[0]! ^= 1;
  parts[i] = bytes.toString('base64url');
  return parts.join('.');
}

function withPart(sealed: string, i: number, value: string): string {
  const parts = sealed.split('.');
  parts[i] = value;
  return parts.join('.');
}

test('seal/open round trip, with and without aad; output is opaque and randomised', () => {
  const box = createSecretBox([OLD]);
  const sealed = box.seal(PLAINTEXT, 'kid-1');
  assert.equal(box.open(sealed, 'kid-1').toString('utf8'), PLAINTEXT);
  assert.equal(box.open(box.seal(Buffer.from('bytes'))).toString('utf8'), 'bytes');
  assert.equal(box.open(box.seal('')).toString('utf8'), '');
  assert.ok(!sealed.includes(PLAINTEXT));
  assert.ok(!sealed.includes(Buffer.from(PLAINTEXT).toString('base64url')));
  assert.ok(!sealed.includes(Buffer.from(PLAINTEXT).toString('base64')));
  assert.notEqual(box.seal(PLAINTEXT, 'kid-1'), sealed, 'a fresh iv every time');
});

test('tampering with any part fails: ciphertext, tag, iv, key id, aad', () => {
  const box = createSecretBox([NEW, OLD]);
  const sealed = box.seal(PLAINTEXT, 'aad');
  assert.throws(() => box.open(flip(sealed, 3), 'aad'), 'ciphertext');
  assert.throws(() => box.open(flip(sealed, 4), 'aad'), 'tag');
  assert.throws(() => box.open(flip(sealed, 2), 'aad'), 'iv');
  assert.throws(() => box.open(withPart(sealed, 1, 'old'), 'aad'), 'key id swapped for another known key');
  assert.throws(() => box.open(sealed, 'other'), 'aad');
  assert.throws(() => box.open(sealed), 'missing aad');
  assert.throws(() => box.open(withPart(sealed, 0, 'v2'), 'aad'), 'version');
  assert.throws(() => box.open(sealed.split('.').slice(0, 4).join('.'), 'aad'), 'missing part');
  assert.equal(box.open(sealed, 'aad').toString('utf8'), PLAINTEXT, 'the untouched box still opens');
});

test('a truncated tag fails (the tag length is fixed at 16 bytes)', () => {
  const box = createSecretBox([OLD]);
  const sealed = box.seal(PLAINTEXT);
  const tag = Buffer.from(sealed.split('.')[4]!, 'base64url');
  assert.equal(tag.length, 16);
  for (const n of [4, 8, 12, 15]) {
    assert.throws(() => box.open(withPart(sealed, 4, tag.subarray(0, n).toString('base64url'))), `tag cut to ${n} bytes`);
  }
});

test('rotation: [new, old] opens what old sealed and seals with the new key id', () => {
  const oldBox = createSecretBox([OLD]);
  const rotated = createSecretBox([NEW, OLD]);
  const legacy = oldBox.seal(PLAINTEXT, 'a');
  assert.equal(rotated.open(legacy, 'a').toString('utf8'), PLAINTEXT);
  assert.equal(rotated.currentKeyId, 'new');
  const fresh = rotated.seal(PLAINTEXT, 'a');
  assert.equal(fresh.split('.')[1], 'new');
  assert.throws(() => oldBox.open(fresh, 'a'), /unknown key id "new"/);
  assert.equal(createSecretBox([NEW]).open(fresh, 'a').toString('utf8'), PLAINTEXT);
});

test('an unknown key id fails', () => {
  const sealed = createSecretBox([OLD]).seal(PLAINTEXT);
  assert.throws(() => createSecretBox([NEW]).open(sealed), /unknown key id "old"/);
  assert.throws(() => createSecretBox([OLD]).open(withPart(sealed, 1, 'nope')), /unknown key id "nope"/);
  assert.throws(() => createSecretBox([]), /at least one key/);
});
