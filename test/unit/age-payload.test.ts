import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Decrypter, Encrypter, generateHybridIdentity, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { newAgeStreamKey, unwrapAgeFileKey } from '../../src/crypto/age-header.js';
import type { AgeKeys } from '../../src/crypto/age-keys.js';
import { AGE_NONCE_SIZE, AgeOpener, AgeSealer, ageHeaderLength, ageObjectSize, agePayloadKey, sealAgeObject, type AgeObjectRole, type AgeStreamKey } from '../../src/crypto/age-payload.js';
import { SEGMENT_SIZE, SegmentOpener, TAG_SIZE, aeadCipher } from '../../src/crypto/segment-framing.js';
import { S3ductError } from '../../src/errors.js';
import { tempDir, testBytes } from '../helpers/cli.js';

const SIZES = [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE + 5];
const chunk0: AgeObjectRole = { kind: 'chunk', index: 0 };

function sealInPieces(key: AgeStreamKey, role: AgeObjectRole, plain: Buffer, pieceSize: number): Buffer {
  const s = new AgeSealer(key, role);
  const out = s.start();
  for (let i = 0; i < plain.length; i += pieceSize) out.push(...s.update(plain.subarray(i, i + pieceSize)));
  out.push(...s.final());
  return Buffer.concat(out);
}

function openInPieces(key: AgeStreamKey, role: AgeObjectRole, stored: Buffer, pieceSize = 5000): Buffer {
  const o = new AgeOpener(key, role, 'obj');
  const out: Buffer[] = [];
  for (let i = 0; i < stored.length; i += pieceSize) out.push(...o.update(stored.subarray(i, i + pieceSize)));
  out.push(o.final());
  return Buffer.concat(out);
}

function integrityFailure(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e) => e instanceof S3ductError && e.exitCode === 4 && message.test(e.message));
}

describe('age payload framing (X25519)', () => {
  const tmp = tempDir('age-unit');
  const identityFile = path.join(tmp.dir, 'key.txt');
  let identity: string;
  let keys: AgeKeys;
  let key: AgeStreamKey;
  before(async () => {
    identity = await generateX25519Identity();
    writeFileSync(identityFile, `# test key\n${identity}\n`, { mode: 0o600 });
    keys = { kind: 'public-key', recipients: [await identityToRecipient(identity)], identities: [identity] };
    key = await newAgeStreamKey(keys);
  });
  after(() => tmp.cleanup());

  for (const n of SIZES) {
    test(`${n} bytes: opens with age-encryption's Decrypter, with /usr/bin/age and with our opener`, async () => {
      const plain = testBytes(n, n + 3);
      const stored = sealInPieces(key, chunk0, plain, 7777);
      assert.equal(stored.length, ageObjectSize(key, n));
      const d = new Decrypter();
      d.addIdentity(identity);
      assert.deepEqual(Buffer.from(await d.decrypt(stored)), plain);
      const file = path.join(tmp.dir, `obj-${n}.age`);
      writeFileSync(file, stored);
      const cli = spawnSync('/usr/bin/age', ['-d', '-i', identityFile, file], { maxBuffer: 1 << 26 });
      assert.equal(cli.status, 0, cli.stderr?.toString());
      assert.deepEqual(cli.stdout, plain);
      assert.deepEqual(openInPieces(key, chunk0, stored), plain);
    });
  }

  test("age-encryption's own payload opens with our segment framing (same HKDF, nonces and last flag)", async () => {
    const plain = testBytes(2 * SEGMENT_SIZE + 9, 8);
    const e = new Encrypter();
    e.addRecipient(keys.kind === 'public-key' ? keys.recipients[0]! : '');
    const file = Buffer.from(await e.encrypt(plain));
    const headerLength = ageHeaderLength(file, 'f');
    const fileKey = await unwrapAgeFileKey(file.subarray(0, headerLength), keys, 'f');
    const nonce = file.subarray(headerLength, headerLength + AGE_NONCE_SIZE);
    const o = new SegmentOpener(aeadCipher('chacha20-poly1305', agePayloadKey(fileKey, nonce)), 'f');
    assert.deepEqual(Buffer.concat([...o.update(file.subarray(headerLength + AGE_NONCE_SIZE)), o.final(1)]), plain);
  });

  test('every object shares the stream header but gets its own nonce', () => {
    const a = sealAgeObject(key, chunk0, Buffer.from('x'));
    const b = sealAgeObject(key, chunk0, Buffer.from('x'));
    const h = key.header.length;
    assert.deepEqual(a.subarray(0, h), b.subarray(0, h));
    assert.notDeepEqual(a.subarray(h, h + AGE_NONCE_SIZE), b.subarray(h, h + AGE_NONCE_SIZE));
  });

  test('a chunk opened at another index, or as the manifest, fails by name', () => {
    const stored = sealAgeObject(key, { kind: 'chunk', index: 3 }, Buffer.from('hello'));
    assert.deepEqual(openInPieces(key, { kind: 'chunk', index: 3 }, stored), Buffer.from('hello'));
    integrityFailure(() => openInPieces(key, { kind: 'chunk', index: 4 }, stored), /not chunk 4 of this stream/);
    integrityFailure(() => openInPieces(key, { kind: 'manifest' }, stored), /not this stream's manifest/);
  });

  test('the manifest and the resume journal cannot pass for each other', () => {
    const journal = sealAgeObject(key, { kind: 'journal' }, Buffer.from('{}'));
    assert.deepEqual(openInPieces(key, { kind: 'journal' }, journal), Buffer.from('{}'));
    integrityFailure(() => openInPieces(key, { kind: 'manifest' }, journal), /not this stream's manifest/);
    integrityFailure(() => openInPieces(key, { kind: 'journal' }, sealAgeObject(key, { kind: 'manifest' }, Buffer.from('{}'))), /not this stream's journal/);
  });

  test('an object of another stream (other header) fails by name', async () => {
    const other = await newAgeStreamKey(keys);
    integrityFailure(() => openInPieces(key, chunk0, sealAgeObject(other, chunk0, Buffer.from('x'))), /age header differs/);
  });

  test('flipped, truncated and extended payloads fail authentication', () => {
    const stored = sealAgeObject(key, chunk0, testBytes(SEGMENT_SIZE + 10, 5));
    const flipped = Buffer.from(stored);
    flipped[flipped.length - 20]! ^= 1;
    integrityFailure(() => openInPieces(key, chunk0, flipped), /authentication failed in segment 1/);
    const cut = stored.subarray(0, key.header.length + AGE_NONCE_SIZE + SEGMENT_SIZE + TAG_SIZE);
    integrityFailure(() => openInPieces(key, chunk0, cut), /authentication failed in segment 0/);
    integrityFailure(() => openInPieces(key, chunk0, stored.subarray(0, key.header.length + 3)), /truncated/);
    const full = sealAgeObject(key, chunk0, testBytes(SEGMENT_SIZE, 6));
    const emptyTail = Buffer.concat([full, Buffer.alloc(TAG_SIZE)]);
    integrityFailure(() => openInPieces(key, chunk0, emptyTail), /authentication failed|empty final segment/);
  });

  test('a header for another identity: "no identity matches", exit 8', async () => {
    const stranger: AgeKeys = { kind: 'public-key', recipients: [], identities: [await generateX25519Identity()] };
    await assert.rejects(
      () => unwrapAgeFileKey(key.header, stranger, 'm'),
      (e) => e instanceof S3ductError && e.exitCode === 8 && /no identity matches/.test(e.message),
    );
  });
});

test('post-quantum (ML-KEM-768 + X25519) stream header: objects open with the hybrid identity', async () => {
  const identity = await generateHybridIdentity();
  const recipient = await identityToRecipient(identity);
  assert.match(recipient, /^age1pq1/);
  const key = await newAgeStreamKey({ kind: 'public-key', recipients: [recipient], identities: [] });
  const plain = testBytes(SEGMENT_SIZE + 1, 9);
  const d = new Decrypter();
  d.addIdentity(identity);
  assert.deepEqual(Buffer.from(await d.decrypt(sealAgeObject(key, chunk0, plain))), plain);
  const fileKey = await unwrapAgeFileKey(key.header, { kind: 'public-key', recipients: [], identities: [identity] }, 'm');
  assert.deepEqual(fileKey, key.fileKey);
});

test('passphrase (scrypt) stream header: objects open with the passphrase, not with a wrong one', async () => {
  const key = await newAgeStreamKey({ kind: 'passphrase', passphrase: 'correct horse battery staple' });
  const plain = testBytes(1000, 10);
  const d = new Decrypter();
  d.addPassphrase('correct horse battery staple');
  assert.deepEqual(Buffer.from(await d.decrypt(sealAgeObject(key, chunk0, plain))), plain);
  await assert.rejects(
    () => unwrapAgeFileKey(key.header, { kind: 'passphrase', passphrase: 'wrong' }, 'm'),
    (e) => e instanceof S3ductError && e.exitCode === 8 && /no identity matches.*wrong passphrase/.test(e.message),
  );
});
