import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlabPool } from '../../src/pipeline/slab-pool.js';

test('slab pool: hands out at most `count` slabs, reuses released ones, wakes waiters in order', async () => {
  const pool = new SlabPool(16, 2);
  const a = await pool.acquire();
  const b = await pool.acquire();
  assert.ok(a.buffer instanceof SharedArrayBuffer);
  const order: string[] = [];
  const c = pool.acquire().then((s) => (order.push('c'), s));
  const d = pool.acquire().then((s) => (order.push('d'), s));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'nobody gets a third slab');
  pool.release(a);
  assert.equal(await c, a, 'the released slab itself, not a new allocation');
  pool.release(b);
  assert.equal(await d, b);
  assert.deepEqual(order, ['c', 'd']);
  assert.equal(pool.peak, 2);
});

test('slab pool: abort fails waiting and later acquires, so a stopped pipeline cannot hang', async () => {
  const pool = new SlabPool(16, 1);
  await pool.acquire();
  const waiting = pool.acquire();
  pool.abort(new Error('stopped'));
  await assert.rejects(waiting, /stopped/);
  await assert.rejects(pool.acquire(), /stopped/);
});
