import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { codecForPut, openManifest, type Protection } from '../../src/crypto/stream-codec.js';
import { S3ductError, failure } from '../../src/errors.js';
import { StreamLayout } from '../../src/format/layout.js';
import { ByteReader } from '../../src/pipeline/byte-reader.js';
import { GET_SLAB_SIZE, getStream } from '../../src/pipeline/get-stream.js';
import { putStream } from '../../src/pipeline/put-stream.js';
import { SlabPool } from '../../src/pipeline/slab-pool.js';
import { testBytes } from '../helpers/cli.js';
import { MemoryStore } from '../helpers/memory-store.js';

const layout = new StreamLayout('', 'bounds');
const SLAB = 64 * 1024;

async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function put(store: MemoryStore, data: Buffer, o: { protection: Protection; chunkSize: number; slabs?: SlabPool; onRead?: (n: number) => void }) {
  const streamId = randomBytes(16);
  return putStream({
    store, layout, name: 'bounds', streamId, codec: await codecForPut(o.protection, streamId),
    input: new ByteReader(pieces(data, 10_000)), chunkSize: o.chunkSize, storageClass: 'STANDARD', tags: {},
    concurrency: 3, source: { kind: 'stdin' }, readAhead: o.slabs, events: { onRead: o.onRead },
  });
}

test('put: bytes read but not yet taken by the store never exceed the read-ahead slabs and as many output slabs', async () => {
  const data = testBytes(3 * 1024 * 1024 + 123, 9);
  let read = 0;
  let taken = 0;
  let worst = 0;
  // A slow store: without the bound, the reader would race ahead through the whole input.
  const store = new MemoryStore(async (key, piece) => {
    if (key.includes('/chunks/')) taken += piece.length;
    await new Promise((r) => setImmediate(r));
  });
  const slabs = new SlabPool(SLAB, 4);
  const manifest = await put(store, data, {
    protection: { mode: 'none' }, // stored bytes = plaintext bytes, so the two counts compare
    chunkSize: 1024 * 1024,
    slabs,
    onRead: (n) => {
      read += n;
      worst = Math.max(worst, read - taken);
    },
  });
  assert.equal(manifest.stream.size, data.length);
  assert.equal(manifest.chunks.length, 4);
  assert.ok(worst <= 2 * 4 * SLAB, `in flight ${worst} > ${2 * 4 * SLAB}`);
  assert.ok(slabs.peak <= 4);
  assert.equal(slabs.inUse, 0);
});

test('get: output is in order and byte-identical; look-ahead stays within its slabs', async () => {
  const key = randomBytes(32);
  const store = new MemoryStore();
  const data = testBytes(5 * 1024 * 1024 + 7, 10);
  await put(store, data, { protection: { mode: 'aes-256-gcm', key }, chunkSize: 1_500_000 });
  const { manifest, codec } = await openManifest(await store.get(layout.manifest), { mode: 'aes-256-gcm', key }, 'm');
  const out: Buffer[] = [];
  const rangeSize = 2_500_000; // ranges larger than a step, and steps cut across segments
  const slabs = new SlabPool(GET_SLAB_SIZE, 3);
  await getStream({
    store, layout, manifest, codec, concurrency: 4, rangeSize, lookAhead: slabs,
    sink: {
      write: async (b) => {
        out.push(Buffer.from(b));
        await new Promise((r) => setImmediate(r));
      },
    },
  });
  assert.deepEqual(Buffer.concat(out), data);
  assert.ok(slabs.peak <= 3);
  assert.equal(slabs.inUse, 0);
});

test('put: a store failing mid-stream ends the put with its error, without hanging', async () => {
  let n = 0;
  const store = new MemoryStore(() => {
    if (++n === 5) throw failure('store went away');
  });
  await assert.rejects(
    put(store, testBytes(2 * 1024 * 1024), { protection: { mode: 'none' }, chunkSize: 256 * 1024, slabs: new SlabPool(SLAB, 2) }),
    (e) => e instanceof S3ductError && e.exitCode === 1 && e.message === 'store went away',
  );
});

test('get: a tampered chunk stops the restore at that chunk; a failing sink stops it too', async () => {
  const key = randomBytes(32);
  const store = new MemoryStore();
  await put(store, testBytes(1024 * 1024, 11), { protection: { mode: 'aes-256-gcm', key }, chunkSize: 200_000 });
  const { manifest, codec } = await openManifest(await store.get(layout.manifest), { mode: 'aes-256-gcm', key }, 'm');
  const bad = store.objects.get(layout.chunk(2))!;
  bad[1000]! ^= 1;
  let written = 0;
  await assert.rejects(
    getStream({ store, layout, manifest, codec, concurrency: 4, rangeSize: 40_000, sink: { write: async (b) => void (written += b.length) } }),
    (e) => {
      assert.ok(e instanceof S3ductError, String(e));
      assert.equal(e.exitCode, 4);
      assert.match(e.message, /^chunk 2: authentication failed in segment 0/);
      return true;
    },
  );
  assert.equal(written, 400_000, 'chunks 0 and 1 written, nothing of chunk 2');
  bad[1000]! ^= 1;
  await assert.rejects(
    getStream({ store, layout, manifest, codec, concurrency: 4, rangeSize: 40_000, sink: { write: async () => { throw failure('disk full'); } } }),
    /disk full/,
  );
});

test('put: an input that fails mid-chunk fails the put (one line, exit 1) and that chunk object, without hanging', async () => {
  async function* broken(): AsyncGenerator<Buffer> {
    yield testBytes(300_000);
    throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }); // as a stream reports it
  }
  const store = new MemoryStore();
  const streamId = randomBytes(16);
  await assert.rejects(
    putStream({
      store, layout, name: 'bounds', streamId, codec: await codecForPut({ mode: 'none' }, streamId),
      input: new ByteReader(broken()), chunkSize: 1024 * 1024, storageClass: 'STANDARD', tags: {},
      concurrency: 2, source: { kind: 'stdin' },
    }),
    (e) => e instanceof S3ductError && e.exitCode === 1 && e.message === 'cannot read the input: EIO',
  );
  assert.equal(store.objects.size, 0, 'no partial chunk and no manifest');
});
