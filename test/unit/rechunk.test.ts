import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rechunk } from '../../src/pipeline/rechunk.js';
import { testBytes } from '../helpers/cli.js';

/** Yields copies of `data` in the given piece sizes and scribbles over each piece as soon as
 *  the next is asked for, as the put pipeline reuses its output slabs. */
async function* reusedPieces(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const piece = Buffer.from(data.subarray(at, at + sizes[i % sizes.length]!));
    at += piece.length;
    yield piece;
    piece.fill(0xa5);
  }
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of source) out.push(b);
  return out;
}

test('rechunk: exact part sizes, the same bytes, though each piece is overwritten once the next is asked for', async () => {
  const data = testBytes(100_003, 5);
  for (const sizes of [[1], [7, 1000, 3], [4096], [25_000, 1], [100_003]]) {
    const parts = await collect(rechunk(reusedPieces(data, sizes), 4096));
    assert.deepEqual(Buffer.concat(parts), data, `pieces ${sizes.join(',')}`);
    assert.ok(parts.slice(0, -1).every((p) => p.length === 4096));
    assert.equal(parts.at(-1)!.length, data.length % 4096);
  }
});

test('rechunk: an empty stream yields nothing; an exact multiple ends with a full part', async () => {
  assert.deepEqual(await collect(rechunk(reusedPieces(Buffer.alloc(0), [10]), 8)), []);
  const parts = await collect(rechunk(reusedPieces(testBytes(32, 1), [5]), 8));
  assert.deepEqual(parts.map((p) => p.length), [8, 8, 8, 8]);
});
