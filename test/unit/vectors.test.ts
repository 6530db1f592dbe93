import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { KEY_HEX, REPO, runCli } from '../helpers/cli.js';

// Archives written by s3duct format v1 and committed: every later version must keep reading
// them byte for byte (docs/FORMAT.md, "Versioning"). Never regenerate them.
const dir = path.join(REPO, 'test', 'vectors');
const expected = readFileSync(path.join(dir, 'v1-plaintext.txt'));

for (const [name, keyArgs] of [
  ['vec/aes', ['--key', `hex:${KEY_HEX}`]],
  ['vec/plain', []],
  // age (docs/FORMAT.md section 8); their identity files are test keys committed beside them.
  ['vec/age', ['--age-identity', path.join(dir, 'v1-age-x25519.key')]],
  ['vec/age-pq', ['--age-identity', path.join(dir, 'v1-age-pq.key')]],
] as const) {
  test(`format v1 vector ${name} still restores`, async () => {
    const r = await runCli(['get', '--store', `file:${path.join(dir, 'v1-store')}`, '--name', name, ...keyArgs, '--summary', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(expected));
  });
}
