import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { deriveStreamKeys } from '../../src/crypto/kdf.js';
import {
  FinalMark,
  HEADER_SIZE,
  Opener,
  SEGMENT_SIZE,
  Sealer,
  TAG_SIZE,
  newHeader,
  sealedSize,
  type SealKey,
} from '../../src/crypto/segmented-aead.js';
import { S3ductError } from '../../src/errors.js';

const streamId = randomBytes(16);
const keys = deriveStreamKeys(randomBytes(32), streamId);
const key: SealKey = { root: keys.data, check: keys.check };

function seal(plain: Buffer, index: number, mark: 1 | 2, pieceSize = 7777): Buffer {
  const s = new Sealer(key, newHeader('chunk', streamId, index, key));
  const out = [s.header()];
  for (let i = 0; i < plain.length; i += pieceSize) out.push(...s.update(plain.subarray(i, i + pieceSize)));
  out.push(...s.final(mark));
  return Buffer.concat(out);
}

function open(sealed: Buffer, index: number, mark: 1 | 2, pieceSize = 5000): Buffer {
  const o = new Opener(key, { kind: 'chunk', streamId, index }, `chunk ${index}`);
  const out: Buffer[] = [];
  for (let i = 0; i < sealed.length; i += pieceSize) out.push(...o.update(sealed.subarray(i, i + pieceSize)));
  out.push(o.final(mark));
  return Buffer.concat(out);
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof S3ductError, String(e));
    return { code: e.exitCode, message: e.message };
  }
  assert.fail('expected an error');
};

test('round trip at segment boundaries, sizes match sealedSize()', () => {
  for (const n of [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE, 3 * SEGMENT_SIZE + 5]) {
    const plain = randomBytes(n);
    const sealed = seal(plain, 3, FinalMark.chunk);
    assert.equal(sealed.length, sealedSize(n), `size for ${n}`);
    assert.deepEqual(open(sealed, 3, FinalMark.chunk), plain);
  }
  assert.equal(sealedSize(0), HEADER_SIZE + TAG_SIZE);
});

test('two sealings of the same plaintext differ (fresh salt: no nonce reuse on re-encryption)', () => {
  const plain = randomBytes(1000);
  assert.notDeepEqual(seal(plain, 0, 2), seal(plain, 0, 2));
});

test('a flipped byte anywhere is detected', () => {
  const plain = randomBytes(2 * SEGMENT_SIZE + 10);
  const sealed = seal(plain, 0, FinalMark.lastChunk);
  for (const pos of [HEADER_SIZE + 5, HEADER_SIZE + SEGMENT_SIZE + TAG_SIZE + 1, sealed.length - 1, 30 /* index field */]) {
    const bad = Buffer.from(sealed);
    bad[pos]! ^= 1;
    assert.equal(code(() => open(bad, 0, FinalMark.lastChunk)).code, 4, `flip at ${pos}`);
  }
});

test('wrong index, wrong final mark, truncation and extension are detected', () => {
  const sealed = seal(randomBytes(3 * SEGMENT_SIZE), 2, FinalMark.chunk);
  assert.match(code(() => open(sealed, 3, FinalMark.chunk)).message, /holds chunk 2/);
  assert.equal(code(() => open(sealed, 2, FinalMark.lastChunk)).code, 4);
  assert.equal(code(() => open(sealed.subarray(0, sealed.length - SEGMENT_SIZE - TAG_SIZE), 2, FinalMark.chunk)).code, 4);
  const extended = Buffer.concat([sealed, sealed.subarray(HEADER_SIZE, HEADER_SIZE + SEGMENT_SIZE + TAG_SIZE)]);
  assert.equal(code(() => open(extended, 2, FinalMark.chunk)).code, 4);
});

test('another key is a wrong key for a manifest, but tampering for a chunk (opened only after its manifest)', () => {
  const other = deriveStreamKeys(randomBytes(32), streamId);
  const otherKey = { root: other.data, check: other.check };
  const manifest = new Sealer(key, newHeader('manifest', streamId, 0, key));
  const sealedManifest = Buffer.concat([manifest.header(), ...manifest.update(randomBytes(100)), ...manifest.final(FinalMark.lastChunk)]);
  const wrongKey = code(() => new Opener(otherKey, { kind: 'manifest', streamId, index: 0 }, 'manifest').update(sealedManifest));
  assert.equal(wrongKey.code, 8);
  assert.match(wrongKey.message, /different key/);
  const replaced = code(() => new Opener(otherKey, { kind: 'chunk', streamId, index: 0 }, 'chunk 0').update(seal(randomBytes(100), 0, 2)));
  assert.equal(replaced.code, 4);
  assert.match(replaced.message, /sealed under another key than the rest of its stream/);
});

test('any split of the input into pieces (empty, tiny, several segments at once) gives the same plaintext back, though each piece is overwritten once fed', () => {
  let x = 0x9e3779b9;
  const rand = (n: number) => {
    // xorshift32: exact in 32-bit integer arithmetic, so the sequence never degenerates
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  // Each step feeds an empty piece first (no progress), then 1 byte, a whole unit, or a random
  // size. Each piece is a copy that is scribbled over after the step, as the pipeline reuses
  // its slabs: a codec keeping a view of its input would produce garbage.
  const split = (data: Buffer, unit: number, feed: (b: Buffer) => void) => {
    for (let i = 0; i < data.length; ) {
      feed(data.subarray(i, i));
      const n = [1, unit, 1 + rand(3 * unit)][rand(3)]!;
      const piece = Buffer.from(data.subarray(i, i + n));
      feed(piece);
      piece.fill(0xa5);
      i += n;
    }
  };
  for (let round = 0; round < 20; round++) {
    const plain = randomBytes(rand(5 * SEGMENT_SIZE) + (round % 2 ? SEGMENT_SIZE : 0));
    const s = new Sealer(key, newHeader('chunk', streamId, 1, key));
    const sealed = [s.header()];
    split(plain, SEGMENT_SIZE, (b) => sealed.push(...s.update(b)));
    sealed.push(...s.final(FinalMark.chunk));
    const all = Buffer.concat(sealed);
    assert.equal(all.length, sealedSize(plain.length));
    const o = new Opener(key, { kind: 'chunk', streamId, index: 1 }, 'chunk 1');
    const out: Buffer[] = [];
    split(all, SEGMENT_SIZE + TAG_SIZE, (b) => out.push(...o.update(b)));
    out.push(o.final(FinalMark.chunk));
    assert.deepEqual(Buffer.concat(out), plain, `round ${round}`);
  }
});
