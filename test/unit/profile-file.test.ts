import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { writeProfileText } from '../../src/profile/profile-file.js';

test('two inits of one profile path at once: one writes it, the other is refused (exit 7)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 's3duct-profile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cfg', 'profile.json');
  const results = await Promise.allSettled([writeProfileText(file, 'first', false), writeProfileText(file, 'second', false)]);
  const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  assert.equal(won.length, 1, 'both inits reported success; only one of their profiles survives');
  const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.equal(lost.reason.exitCode, 7);
  assert.equal(readFileSync(file, 'utf8'), won[0] === 0 ? 'first' : 'second');
  assert.equal(statSync(file).mode & 0o777, 0o600);

  mkdirSync(path.join(dir, 'adir'));
  await assert.rejects(writeProfileText(path.join(dir, 'adir'), 'x', false), (e: any) => e.exitCode === 3 && /is a directory/.test(e.message));
});
