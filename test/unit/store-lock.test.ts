import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { StreamLayout } from '../../src/format/layout.js';
import { STALE_MS, StoreLock, lockIsLive, type LockBody } from '../../src/resume/store-lock.js';
import { MemoryStore } from '../helpers/memory-store.js';

/** A state directory of the test's own: its id is the lock's holder. */
function useTempStateDir(t: TestContext): void {
  const state = mkdtempSync(path.join(tmpdir(), 's3duct-lock-'));
  const before = process.env.S3DUCT_STATE_DIR;
  process.env.S3DUCT_STATE_DIR = state;
  t.after(() => {
    process.env.S3DUCT_STATE_DIR = before;
    rmSync(state, { recursive: true, force: true });
  });
}

test('a store lock is in use unless its command stopped, went stale by the store\'s clock, or held it from this state directory and host', async () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  const at = (ms: number) => new Date(now - ms).toISOString();
  const layout = new StreamLayout('', 's');
  const lock: LockBody = { lock: 's3duct-put', version: 1, streamId: 'aa', holder: 'there', token: 't', since: at(3_600_000), refreshed: at(30_000) };
  // The store's answers: when the lock object was last written, and the store's now.
  const store = (writtenAgo: number | undefined, storeNow = now) =>
    Object.assign(new MemoryStore(), {
      head: async () => ({ key: layout.lock, size: 1, ...(writtenAgo !== undefined && { lastModified: new Date(storeNow - writtenAgo) }) }),
      now: () => storeNow,
    });
  const live = (l: LockBody | 'foreign', s: MemoryStore, here = 'here') => lockIsLive(s, layout, l, here);
  assert.equal(await live(lock, store(30_000)), true);
  assert.equal(await live({ ...lock, state: 'stopped' }, store(30_000)), false);
  assert.equal(await live(lock, store(30_000), 'there'), false);
  assert.equal(await live(lock, store(STALE_MS + 1)), false);
  // The holder's clock 15 minutes behind: its times look stale, the store's write is fresh.
  assert.equal(await live({ ...lock, refreshed: at(15 * 60_000) }, store(30_000)), true);
  // A lock from the future (the holder's clock ahead) goes stale like any other.
  assert.equal(await live({ ...lock, refreshed: at(-3_600_000) }, store(STALE_MS + 1)), false);
  assert.equal(await live('foreign', store(30_000)), true, 'an unreadable lock is in use until stale');
  assert.equal(await live('foreign', store(STALE_MS + 1)), false);
  // A store that gives no time: the lock's own, against this machine's clock.
  const own = (agoMs: number) => ({ ...lock, refreshed: new Date(Date.now() - agoMs).toISOString() });
  assert.equal(await live(own(30_000), store(undefined)), true);
  assert.equal(await live(own(STALE_MS + 60_000), store(undefined)), false);
});

test('a running put refreshes its lock every minute, and never overwrites one another put took over', async (t) => {
  useTempStateDir(t);
  t.mock.timers.enable({ apis: ['setInterval'] });
  const flush = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  const store = new MemoryStore();
  const layout = new StreamLayout('', 's');
  const lock = await StoreLock.acquire(store, layout, 's', 'aa');
  const first = store.objects.get(layout.lock);
  t.mock.timers.tick(60_000);
  await flush();
  assert.notEqual(store.objects.get(layout.lock), first, 'not refreshed');
  await lock.check('s');

  const theirs = Buffer.from(JSON.stringify({ ...JSON.parse(store.objects.get(layout.lock)!.toString()), token: 'theirs' }));
  store.objects.set(layout.lock, theirs);
  t.mock.timers.tick(60_000);
  await flush();
  assert.equal(store.objects.get(layout.lock), theirs, 'a refresh overwrote the lock of the put that took over');
  await assert.rejects(lock.check('s'), /was taken by another command while this put ran/);
  await lock.stopped();
  assert.equal(store.objects.get(layout.lock), theirs, 'stopped() marked a lock that is not its own');
});

test('a put paused past the stale time writes no more chunks once another put holds the lock', async (t) => {
  useTempStateDir(t);
  // Only the clock: a machine asleep runs no timers, and wakes with the wall clock moved on.
  t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-11-25T08:00:00Z') });
  let reads = 0;
  const store = new MemoryStore();
  const get = store.get.bind(store);
  store.get = async (...a: Parameters<MemoryStore['get']>) => (reads++, get(...a));
  const layout = new StreamLayout('', 's');
  const lock = await StoreLock.acquire(store, layout, 's', 'aa');

  reads = 0;
  await lock.confirm('s');
  assert.equal(reads, 0, 'a recent lock is confirmed without a request');

  t.mock.timers.tick(5 * 60_000); // paused, but nobody took over: the put goes on, refreshed
  await lock.confirm('s');
  assert.equal(reads, 1);
  const refreshed = JSON.parse(store.objects.get(layout.lock)!.toString()) as LockBody;
  assert.equal(refreshed.refreshed, new Date().toISOString());

  t.mock.timers.tick(STALE_MS + 60_000);
  const theirs = Buffer.from(JSON.stringify({ ...refreshed, token: 'theirs', refreshed: new Date().toISOString() }));
  store.objects.set(layout.lock, theirs);
  await assert.rejects(lock.confirm('s'), /taken by another put while this one was paused/);
  await assert.rejects(lock.confirm('s'), /taken by another put/, 'once lost, always refused');
  assert.equal(store.objects.get(layout.lock), theirs, 'the lock of the put that took over was overwritten');
});
