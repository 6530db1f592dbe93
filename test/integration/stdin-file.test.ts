import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir, testBytes } from '../helpers/cli.js';

const KEY = `hex:${'5e'.repeat(32)}`;

test('put < file: the stream starts where stdin stands, as with cat; chunks read at offsets come back whole and in order', async () => {
  const { dir, cleanup } = tempDir('stdin-file');
  try {
    const data = testBytes(5 * 1024 * 1024 + 333, 21);
    const file = path.join(dir, 'input');
    writeFileSync(file, data);
    const fd = openSync(file, 'r');
    const skipped = 1000; // what a shell command before us already read from the same descriptor
    readSync(fd, Buffer.alloc(skipped), 0, skipped, null);
    const store = ['--store', `file:${path.join(dir, 'store')}`, '--name', 'from-stdin', '--key', KEY];
    const put = await runCli(['put', ...store, '--chunk-size', '1M', '--summary', 'json'], { stdinFd: fd });
    closeSync(fd);
    assert.equal(put.code, 0, put.stderr);
    assert.doesNotMatch(put.stderr, /WARNING/);
    const summary = JSON.parse(put.stderr.trim().split('\n').at(-1)!);
    assert.equal(summary.bytes, data.length - skipped, put.stderr);
    assert.equal(summary.chunks, 5);
    const get = await runCli(['get', ...store]);
    assert.equal(get.code, 0, get.stderr);
    assert.ok(get.stdout.equals(data.subarray(skipped)), 'restored bytes differ from the input after the offset');
  } finally {
    cleanup();
  }
});
