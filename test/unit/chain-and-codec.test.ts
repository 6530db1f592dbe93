import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { chainStep } from '../../src/crypto/chain.js';
import { codecForPut, openManifest } from '../../src/crypto/stream-codec.js';
import { S3ductError } from '../../src/errors.js';
import type { Manifest } from '../../src/format/manifest.js';

test('chain link is HMAC-SHA256(previous, sha256 || sha3-256)', () => {
  const prev = randomBytes(32);
  const a = createHash('sha256').update('x').digest();
  const b = createHash('sha3-256').update('x').digest();
  assert.deepEqual(chainStep(prev, a, b), createHmac('sha256', prev).update(Buffer.concat([a, b])).digest());
});

test('chain key of an encrypted stream depends on the key; plain streams use a public one', async () => {
  const id = randomBytes(16);
  const k1 = (await codecForPut({ mode: 'aes-256-gcm', key: randomBytes(32) }, id)).chainKey;
  const k2 = (await codecForPut({ mode: 'aes-256-gcm', key: randomBytes(32) }, id)).chainKey;
  assert.notDeepEqual(k1, k2);
  assert.deepEqual((await codecForPut({ mode: 'none' }, id)).chainKey, (await codecForPut({ mode: 'none' }, id)).chainKey);
});

function sampleManifest(streamId: Buffer, encryption: Manifest['encryption']): Manifest {
  const h = '0'.repeat(64);
  return {
    format: 's3duct', version: 1, streamId: streamId.toString('hex'), name: 'n', createdAt: '', completedAt: '',
    chunkSize: 10, encryption, storageClass: 'STANDARD', tags: {}, source: { kind: 'stdin' },
    chunks: [{ index: 0, size: 1, storedSize: 1, sha256: h, sha3_256: h, chain: h }],
    stream: { size: 1, chunks: 1, sha256: h, sha3_256: h, chain: h },
  };
}

test('manifest: sealed round trip; a key holder refuses a plaintext manifest; tampering detected', async () => {
  const key = randomBytes(32);
  const id = randomBytes(16);
  const codec = await codecForPut({ mode: 'aes-256-gcm', key }, id);
  const sealed = codec.sealManifest(sampleManifest(id, codec.encryption));
  assert.equal((await openManifest(sealed, { mode: 'aes-256-gcm', key }, 'm')).manifest.name, 'n');
  const plain = (await codecForPut({ mode: 'none' }, id)).sealManifest(sampleManifest(id, { mode: 'none' }));
  await assert.rejects(() => openManifest(plain, { mode: 'aes-256-gcm', key }, 'm'), (e) => e instanceof S3ductError && e.exitCode === 4 && /not encrypted/.test(e.message));
  const bad = Buffer.from(sealed);
  bad[bad.length - 20]! ^= 1;
  await assert.rejects(() => openManifest(bad, { mode: 'aes-256-gcm', key }, 'm'), (e) => e instanceof S3ductError && e.exitCode === 4);
  await assert.rejects(() => openManifest(sealed, { mode: 'aes-256-gcm', key: randomBytes(32) }, 'm'), (e) => e instanceof S3ductError && e.exitCode === 8);
  await assert.rejects(() => openManifest(sealed, { mode: 'none' }, 'm'), (e) => e instanceof S3ductError && /give --key/.test(e.message));
});
