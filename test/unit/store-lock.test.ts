import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STALE_MS, lockInUse, type LockBody } from '../../src/resume/store-lock.js';

test('a store lock is in use unless its put stopped, went stale, or held it from this state directory', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  const at = (ms: number) => new Date(now - ms).toISOString();
  const lock: LockBody = { lock: 's3duct-put', version: 1, streamId: 'aa', holder: 'there', token: 't', since: at(3_600_000), refreshed: at(30_000) };
  assert.equal(lockInUse(lock, 'here', now), true);
  assert.equal(lockInUse({ ...lock, state: 'stopped' }, 'here', now), false);
  assert.equal(lockInUse({ ...lock, refreshed: at(STALE_MS + 1) }, 'here', now), false);
  assert.equal(lockInUse(lock, 'there', now), false);
  assert.equal(lockInUse({ ...lock, refreshed: 'garbage' }, 'here', now), false, 'an unreadable time counts as stale');
});
