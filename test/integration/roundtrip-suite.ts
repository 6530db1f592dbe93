import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateHybridIdentity, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { KEY_HEX, runCli, tempDir, testBytes } from '../helpers/cli.js';
import type { Target } from '../helpers/targets.js';

const CHUNK = 100 * 1024; // not a multiple of the 64 KiB segment: exercises partial segments

/**
 * The put → get round trip every store must pass byte-identically: sizes around the chunk
 * boundary, plain and encrypted, and one multipart-sized chunk.
 */
export function roundTripSuite(open: () => Promise<Target>): void {
  let t: Target;
  before(async () => {
    t = await open();
  });
  after(async () => {
    await t?.close();
  });

  const sizes: Array<[string, number]> = [
    ['0 B', 0],
    ['1 B', 1],
    ['chunk-1', CHUNK - 1],
    ['chunk', CHUNK],
    ['chunk+1', CHUNK + 1],
    ['several chunks', 3 * CHUNK + 12345],
  ];
  for (const encrypted of [false, true]) {
    describe(encrypted ? 'encrypted' : 'plain', () => {
      for (const [label, size] of sizes) {
        test(`${label} round trip`, async () => {
          const data = testBytes(size, size + 7);
          const name = `rt/${encrypted ? 'enc' : 'plain'}-${size}`;
          const crypt = encrypted ? ['--key', `hex:${KEY_HEX}`] : ['--no-encrypt'];
          const put = await runCli(['put', ...t.args, '--name', name, '--chunk-size', String(CHUNK), ...crypt, '--summary', 'json'], { input: data, env: t.env });
          assert.equal(put.code, 0, put.stderr);
          const summary = JSON.parse(put.stderr.trim().split('\n').pop()!);
          assert.equal(summary.bytes, size);
          assert.equal(summary.chunks, Math.max(1, Math.ceil(size / CHUNK)));
          const get = await runCli(['get', ...t.args, '--name', name, ...(encrypted ? crypt : []), '--summary', 'none'], { env: t.env });
          assert.equal(get.code, 0, get.stderr);
          assert.equal(get.stdout.length, size);
          assert.ok(get.stdout.equals(data), 'restored bytes differ');
        });
      }
    });
  }

  test('multipart-sized chunk (11 MiB chunk, 5 MiB parts) round trip, encrypted', async () => {
    const data = testBytes(12 * 1024 * 1024 + 3, 99);
    const args = [...t.args, '--name', 'rt/multipart', '--key', `hex:${KEY_HEX}`];
    const put = await runCli(['put', ...args, '--chunk-size', '11M', '--part-size', '5M', '--upload-workers', '2'], { input: data, env: t.env });
    assert.equal(put.code, 0, put.stderr);
    const get = await runCli(['get', ...args, '--download-workers', '3'], { env: t.env });
    assert.equal(get.code, 0, get.stderr);
    assert.ok(get.stdout.equals(data), 'restored bytes differ');
  });

  // A FILE is read several chunks at once. With a chunk just over one part, every chunk's put
  // needs two parts: when each held a slot and waited for a second, they waited forever, and
  // the put exited 0 having stored nothing.
  test('a FILE in chunks of one part size, one and two upload workers: stored whole, exit 0', async () => {
    const files = tempDir('rt-parts');
    try {
      const data = testBytes(16 * 1024 * 1024 + 5, 41);
      const input = path.join(files.dir, 'in.bin');
      writeFileSync(input, data);
      for (const workers of ['1', '2']) {
        const args = [...t.args, '--name', `rt/parts-${workers}`, '--key', `hex:${KEY_HEX}`, '--summary', 'none'];
        const put = await runCli(['put', ...args, input, '--chunk-size', '5M', '--part-size', '5M', '--upload-workers', workers], { env: t.env });
        assert.equal(put.code, 0, put.stderr);
        const get = await runCli(['get', ...args], { env: t.env });
        assert.equal(get.code, 0, get.stderr);
        assert.ok(get.stdout.equals(data), `restored bytes differ (${workers} workers)`);
      }
    } finally {
      files.cleanup();
    }
  });

  test('age round trip: X25519 and post-quantum recipients, several chunks', async () => {
    const keys = tempDir('rt-age');
    try {
      const [x, pq] = [await generateX25519Identity(), await generateHybridIdentity()];
      const identity = path.join(keys.dir, 'pq.txt');
      writeFileSync(identity, `# post-quantum\n${pq}\n`, { mode: 0o600 });
      const data = testBytes(3 * CHUNK + 12345, 5);
      const args = [...t.args, '--name', 'rt/age', '--summary', 'none'];
      const recipients = ['--age-recipient', await identityToRecipient(x), '--age-recipient', await identityToRecipient(pq)];
      const put = await runCli(['put', ...args, '--chunk-size', String(CHUNK), ...recipients], { input: data, env: t.env });
      assert.equal(put.code, 0, put.stderr);
      const get = await runCli(['get', ...args, '--age-identity', identity], { env: t.env });
      assert.equal(get.code, 0, get.stderr);
      assert.ok(get.stdout.equals(data), 'restored bytes differ');
    } finally {
      keys.cleanup();
    }
  });
}
