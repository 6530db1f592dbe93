import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { deriveStreamKeys } from '../../src/crypto/kdf.js';
import { base32Decode, base32Encode } from '../../src/format/base32.js';
import { validateStreamName } from '../../src/format/layout.js';
import { isPrivateId, privateIdOf, streamIdOfPrivateId } from '../../src/format/private-id.js';

test('base32 round trips every length and matches RFC 4648 vectors', () => {
  for (let n = 0; n < 40; n++) {
    const b = randomBytes(n);
    assert.deepEqual(base32Decode(base32Encode(b)), b);
  }
  assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
  assert.equal(base32Decode('MZXW6YTBO0'), null);
  assert.equal(base32Decode('MZXW6YTBOJ'), null, 'non-zero padding bits are refused');
});

test('a private id is the stream id in base32, a valid object key segment, and maps back', () => {
  for (let i = 0; i < 50; i++) {
    const id = randomBytes(16);
    const p = privateIdOf(id);
    assert.match(p, /^s3d-[a-z2-7]{26}$/);
    assert.equal(validateStreamName(p), p);
    assert.deepEqual(streamIdOfPrivateId(p), id);
  }
  assert.equal(isPrivateId('s3d-short'), false);
  assert.equal(isPrivateId('host1/daily'), false);
  assert.equal(isPrivateId(privateIdOf(randomBytes(16)).toUpperCase()), false);
});

test('per-stream keys under one master key differ in every subkey', () => {
  const master = randomBytes(32);
  const a = deriveStreamKeys(master, randomBytes(16));
  const b = deriveStreamKeys(master, randomBytes(16));
  for (const k of ['data', 'chain', 'manifest', 'check'] as const) assert.notDeepEqual(a[k], b[k], k);
});
