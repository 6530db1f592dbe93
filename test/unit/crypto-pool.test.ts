import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { codecForPut } from '../../src/crypto/stream-codec.js';
import { S3ductError } from '../../src/errors.js';
import { CryptoPool, shareBytes } from '../../src/pipeline/crypto-pool.js';
import { testBytes } from '../helpers/cli.js';

const key = randomBytes(32);
const aes = () => codecForPut({ mode: 'aes-256-gcm', key }, randomBytes(16));

async function all<T>(out: Buffer[] | Promise<Buffer[]>): Promise<Buffer> {
  return Buffer.concat(await out);
}

test('pool: interleaved chunks on the workers come back in order and decode in-thread', async () => {
  const pool = new CryptoPool();
  try {
    const codec = (await aes());
    const data = [testBytes(300_000, 1), testBytes(70_000, 2), testBytes(1, 3)];
    const jobs = data.map((_, i) => pool.encoder(codec, i));
    const stream = pool.streamHasher();
    // Every step sent before any is awaited: replies must still line up with their chunk.
    const pieces = data.map((d, i) => [d.subarray(0, 100_000), d.subarray(100_000)].map((p) => jobs[i]!.step(shareBytes(p))));
    for (const d of data) void stream.step(shareBytes(d));
    const finals = jobs.map((j, i) => j.finish(i === data.length - 1));
    for (let i = 0; i < data.length; i++) {
      const stored = Buffer.concat([...(await Promise.all(pieces[i]!)), (await finals[i]!).out]);
      assert.equal(stored.length, codec.storedSize(data[i]!.length));
      const dec = codec.decoder(i, i === data.length - 1);
      assert.deepEqual(Buffer.concat([await all(dec.update(stored)), await all(dec.final())]), data[i]);
      const d = (await finals[i]!).digest;
      assert.equal(d.size, data[i]!.length);
      assert.deepEqual(d.sha256, createHash('sha256').update(data[i]!).digest());
      assert.deepEqual(d.sha3_256, createHash('sha3-256').update(data[i]!).digest());
    }
    const whole = Buffer.concat(data);
    const t = (await stream.finish(true)).digest;
    assert.equal(t.size, whole.length);
    assert.deepEqual(t.sha3_256, createHash('sha3-256').update(whole).digest());
  } finally {
    await pool.close();
  }
});

test('pool: a decoder on the worker writes plaintext into the given slab', async () => {
  const pool = new CryptoPool();
  try {
    const codec = (await aes());
    const plain = testBytes(200_000, 4);
    const enc = codec.encoder(0);
    const stored = Buffer.concat([await all(enc.start()), await all(enc.update(plain)), await all(enc.final(true))]);
    const job = pool.decoder(codec, 0, true);
    const slab = shareBytes(Buffer.alloc(stored.length + 65_536));
    const first = await job.step(shareBytes(stored.subarray(0, 150_000)), slab);
    const got = [Buffer.from(first)]; // copied before the slab is reused
    got.push(Buffer.from(await job.step(shareBytes(stored.subarray(150_000)), slab)));
    const f = await job.finish(true, slab);
    got.push(Buffer.from(f.out));
    assert.deepEqual(Buffer.concat(got), plain);
    assert.deepEqual(f.digest.sha256, createHash('sha256').update(plain).digest());
  } finally {
    await pool.close();
  }
});

test('pool: an authentication failure in a worker is the one-line S3ductError, exit code 4', async () => {
  const pool = new CryptoPool();
  try {
    const codec = (await aes());
    const enc = codec.encoder(0);
    const stored = Buffer.concat([await all(enc.start()), await all(enc.update(testBytes(200_000))), await all(enc.final(false))]);
    stored[70_000]! ^= 1;
    const job = pool.decoder(codec, 0, false);
    const slab = shareBytes(Buffer.alloc(stored.length));
    await assert.rejects(job.step(shareBytes(stored), slab), (e) => {
      assert.ok(e instanceof S3ductError);
      assert.equal(e.exitCode, 4);
      assert.match(e.message, /^chunk 0: authentication failed in segment 1/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    // The failed job stays failed rather than answering later steps with something else.
    await assert.rejects(job.finish(false, slab), /authentication failed/);
  } finally {
    await pool.close();
  }
});

test('pool: a worker that dies fails every pending and later request instead of hanging', async () => {
  const pool = new CryptoPool(new URL('./fixtures/dying-worker.js', import.meta.url));
  try {
    const job = pool.chunkHasher(0);
    const pending = [job.step(shareBytes(Buffer.from('a'))), job.step(shareBytes(Buffer.from('b'))), job.finish(true)];
    for (const p of pending)
      await assert.rejects(p, (e) => e instanceof S3ductError && e.exitCode === 1 && /crypto worker stopped unexpectedly \(exit code 7\)/.test(e.message));
    await assert.rejects(pool.chunkHasher(0).step(shareBytes(Buffer.from('c'))), (e) => e instanceof S3ductError && e.exitCode === 1);
  } finally {
    await pool.close();
  }
});

test('pool: output that does not fit the given slab comes in a fresh buffer, whole; the slab is untouched', async () => {
  for (const [lanes, chunksAtOnce] of [[1, 'several'], [2, 'several'], [2, 'one'], [3, 'one']] as const) {
    const pool = new CryptoPool(undefined, lanes, chunksAtOnce);
    try {
      const codec = await aes();
      const plain = testBytes(300_000, 6);
      const job = pool.encoder(codec, 3);
      const small = shareBytes(Buffer.alloc(1000)); // far smaller than a step's output
      const first = await job.step(shareBytes(plain), small);
      assert.notEqual(first.buffer, small.buffer);
      assert.ok(small.every((b) => b === 0));
      const f = await job.finish(true);
      const stored = Buffer.concat([first, f.out]);
      assert.equal(stored.length, codec.storedSize(plain.length));
      const dec = codec.decoder(3, true);
      assert.deepEqual(Buffer.concat([await all(dec.update(stored)), await all(dec.final())]), plain);
      assert.deepEqual(f.digest.sha256, createHash('sha256').update(plain).digest());
      assert.deepEqual(f.digest.sha3_256, createHash('sha3-256').update(plain).digest());
    } finally {
      await pool.close();
    }
  }
});
