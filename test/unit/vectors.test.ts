import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  // age (docs/FORMAT.md section 9); their identity files are test keys committed beside them.
  ['vec/age', ['--age-identity', path.join(dir, 'v1-age-x25519.key')]],
  ['vec/age-pq', ['--age-identity', path.join(dir, 'v1-age-pq.key')]],
] as const) {
  test(`format v1 vector ${name} still restores`, async () => {
    const r = await runCli(['get', '--store', `file:${path.join(dir, 'v1-store')}`, '--name', name, ...keyArgs, '--summary', 'none']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(expected));
  });
}

// Manifest version 2 (whole-stream digests over the chunk digests, docs/FORMAT.md 5.1): same
// plaintext, 500-byte chunks. Never regenerate any; test/vectors/README.md lists them.
const AGE_ID = ['--age-identity', path.join(dir, 'v1-age-x25519.key')];
const AES = ['--key', `hex:${KEY_HEX}`];
const v2 = (name: string, keyArgs: readonly string[], extra: string[] = []) =>
  runCli(['get', '--store', `file:${path.join(dir, 'v2-store')}`, '--name', name, ...keyArgs, '--summary', 'none', ...extra], {
    env: { PW: 's3duct test vector', S3DUCT_PROFILE: undefined },
  });
for (const [name, keyArgs, want] of [
  ['vec/aes', AES, expected],
  ['vec/plain', [], expected],
  ['vec/age', AGE_ID, expected],
  ['vec/age-pass', ['--age-passphrase-env', 'PW'], expected],
  ['vec/empty', AES, Buffer.alloc(0)],
] as const) {
  test(`manifest v2 vector ${name} still restores`, async () => {
    const r = await v2(name, keyArgs);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(want));
  });
}

// Puts stopped by SIGINT after two chunks: the store copy of the resume journal (S3DJ for AES,
// an age object with role 3 for age, docs/FORMAT.md section 7) still opens, and get --partial
// restores the two verified chunks.
for (const [name, keyArgs] of [
  ['vec/partial-aes', AES],
  ['vec/partial-age', AGE_ID],
] as const) {
  test(`journal vector ${name}: get --partial restores the chunks its store journal records`, async () => {
    const r = await v2(name, keyArgs, ['--partial']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(expected.subarray(0, 1000)));
    assert.match(r.stderr, /PARTIAL: restored the 2 verified chunks \(1000 B\)/);
  });
}

test('manifest v2 stream digests follow docs/FORMAT.md 5.1, computed here from the plaintext alone', () => {
  const m = JSON.parse(readFileSync(path.join(dir, 'v2-store', 'vec', 'plain', 'manifest'), 'utf8'));
  assert.equal(m.version, 2);
  const over = (alg: string) => {
    const h = createHash(alg).update('s3duct-v2-stream');
    for (let off = 0; off < expected.length; off += m.chunkSize) {
      const chunk = expected.subarray(off, off + m.chunkSize);
      const size = Buffer.alloc(8);
      size.writeBigUInt64BE(BigInt(chunk.length));
      h.update(size).update(createHash(alg).update(chunk).digest());
    }
    return h.digest('hex');
  };
  assert.equal(m.stream.sha256OfChunks, over('sha256'));
  assert.equal(m.stream.sha3_256OfChunks, over('sha3-256'));
});

test('manifest v2: a stream digest that does not match the chunk digests fails the get (exit 4)', async () => {
  const store = mkdtempSync(path.join(tmpdir(), 's3duct-v2-'));
  try {
    cpSync(path.join(dir, 'v2-store'), store, { recursive: true });
    const file = path.join(store, 'vec', 'plain', 'manifest');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    m.stream.sha3_256OfChunks = '0'.repeat(64);
    writeFileSync(file, JSON.stringify(m));
    const r = await runCli(['get', '--store', `file:${store}`, '--name', 'vec/plain', '--summary', 'none']);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /SHA3-256 over the chunk digests does not match/);
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
});
