import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO, runCli, tempDir } from '../helpers/cli.js';

// A profile, a private stream made with it and the profile's paper export, all committed:
// every later version must keep opening them (docs/PROFILE.md, docs/FORMAT.md section 8).
// Never regenerate them. The profile's store is the relative path file:test/vectors/v1-profile-store.
const dir = path.join(REPO, 'test', 'vectors');
const profile = path.join(dir, 'v1-profile.json');
const expected = readFileSync(path.join(dir, 'v1-plaintext.txt'));
const env = { PW: 's3duct test vector', S3DUCT_PROFILE: undefined };
const ID = 's3d-4tloy3s7cxnhxhpli5vvfvghxq';

for (const ref of ['vector: v1 profile stream', ID]) {
  test(`profile v1 vector: private stream restores by ${ref.startsWith('s3d-') ? 'id' : 'name'}`, async () => {
    const r = await runCli(['get', ref, '--profile', profile, '--password-env', 'PW', '--summary', 'none'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(expected));
  });
}

test('profile v1 vector: the committed paper export imports to the same profile', async () => {
  const t = tempDir('vector-import');
  try {
    const out = path.join(t.dir, 'p.json');
    const r = await runCli(['profile', 'import', path.join(dir, 'v1-profile-export.txt'), '--profile', out], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), JSON.parse(readFileSync(profile, 'utf8')));
  } finally {
    t.cleanup();
  }
});
