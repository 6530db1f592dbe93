import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KEY_HEX, OTHER_KEY_HEX, runCli, tempDir, testBytes } from '../helpers/cli.js';
import { motoTarget, type Target } from '../helpers/targets.js';
import { s3Request } from '../harness/servers.js';

const CHUNK = 100 * 1024;
const DATA = testBytes(3 * CHUNK + 5000, 42);
const KEY = ['--key', `hex:${KEY_HEX}`];

describe('tampering and wrong keys are caught (local store)', () => {
  const store = tempDir('tamper');
  const base = ['--store', `file:${store.dir}`, '--summary', 'none'];
  let n = 0;
  const chunkFile = (name: string, i: number) => path.join(store.dir, name, 'chunks', String(i).padStart(8, '0'));

  async function fresh(extra: string[] = KEY): Promise<string> {
    const name = `t${n++}`;
    const r = await runCli(['put', ...base, '--chunk-size', String(CHUNK), '--name', name, ...extra], { input: DATA });
    assert.equal(r.code, 0, r.stderr);
    return name;
  }
  async function expectFailure(name: string, code: number, message: RegExp, extra: string[] = KEY) {
    const out = path.join(store.dir, `${name}.out`);
    const r = await runCli(['get', ...base, '--name', name, ...extra, '--output', out]);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one-line error expected, got: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(out), false, 'no output file may be left after a failed get');
  }
  after(() => store.cleanup());

  test('wrong key', async () => {
    const name = await fresh();
    await expectFailure(name, 8, /wrong key/, ['--key', `hex:${OTHER_KEY_HEX}`]);
  });

  test('no key for an encrypted stream', async () => {
    const name = await fresh();
    await expectFailure(name, 3, /give --key/, []);
  });

  test('a flipped byte in a chunk', async () => {
    const name = await fresh();
    const f = chunkFile(name, 1);
    const b = readFileSync(f);
    b[b.length >> 1]! ^= 0x20;
    writeFileSync(f, b);
    await expectFailure(name, 4, /chunk 1: authentication failed/);
  });

  test('two chunks swapped', async () => {
    const name = await fresh();
    const [a, b] = [chunkFile(name, 1), chunkFile(name, 2)];
    renameSync(a, a + '.x');
    renameSync(b, a);
    renameSync(a + '.x', b);
    await expectFailure(name, 4, /chunk 1: object holds chunk 2/);
  });

  test('a chunk dropped and the rest shifted down', async () => {
    const name = await fresh();
    renameSync(chunkFile(name, 2), chunkFile(name, 1) + '.gone');
    renameSync(chunkFile(name, 3), chunkFile(name, 2));
    await expectFailure(name, 4, /chunk 2: object holds chunk 3/);
  });

  test('a chunk deleted', async () => {
    const name = await fresh();
    rmSync(chunkFile(name, 2));
    await expectFailure(name, 5, /chunks\/00000002/);
  });

  test('a chunk duplicated over the next one', async () => {
    const name = await fresh();
    copyFileSync(chunkFile(name, 1), chunkFile(name, 2));
    await expectFailure(name, 4, /chunk 2: object holds chunk 1/);
  });

  test('a chunk from another stream under the same key', async () => {
    const [name, other] = [await fresh(), await fresh()];
    copyFileSync(chunkFile(other, 1), chunkFile(name, 1));
    await expectFailure(name, 4, /chunk 1: object belongs to another stream/);
  });

  test('the manifest replaced by a plaintext one', async () => {
    const [name, plain] = [await fresh(), await fresh(['--no-encrypt'])];
    copyFileSync(path.join(store.dir, plain, 'manifest'), path.join(store.dir, name, 'manifest'));
    await expectFailure(name, 4, /manifest is not encrypted but a key was given/);
  });

  test("the manifest replaced by another stream's (same key)", async () => {
    const [name, other] = [await fresh(), await fresh()];
    copyFileSync(path.join(store.dir, other, 'manifest'), path.join(store.dir, name, 'manifest'));
    await expectFailure(name, 4, /manifest is for/);
  });

  test('a flipped byte in a plaintext stream is caught by the hashes', async () => {
    const name = await fresh(['--no-encrypt']);
    const f = chunkFile(name, 2);
    const b = readFileSync(f);
    b[10]! ^= 1;
    writeFileSync(f, b);
    await expectFailure(name, 4, /chunk 2: SHA-256 mismatch/, []);
  });

  test('missing stream and bad options give one-line errors with their exit codes', async () => {
    const r = await runCli(['get', ...base, '--name', 'nope', ...KEY]);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /no stream "nope"/);
    const bad = await runCli(['put', ...base, '--name', 'x', '--chunk-size', '12Q', ...KEY], { input: 'x' });
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /invalid chunk size "12Q"/);
    const badKey = await runCli(['put', ...base, '--name', 'x', '--key', 'hex:abc'], { input: 'x' });
    assert.equal(badKey.code, 3);
    assert.doesNotMatch(badKey.stderr, /abc/, 'key material is never echoed');
  });
});

describe('tampering is caught through a real S3 server (moto)', () => {
  let t: Target;
  before(async () => {
    t = await motoTarget();
  });
  after(async () => {
    await t?.close();
  });

  test('a flipped byte in a stored chunk object', async () => {
    const args = [...t.args, '--name', 'tamper/s3', '--summary', 'none', ...KEY];
    const put = await runCli(['put', ...args, '--chunk-size', String(CHUNK)], { input: DATA, env: t.env });
    assert.equal(put.code, 0, put.stderr);
    const target = `/${t.bucket}/tamper/s3/chunks/00000002`;
    const obj = await s3Request(t.server!, 'GET', target);
    assert.equal(obj.status, 200);
    obj.body[100]! ^= 1;
    assert.equal((await s3Request(t.server!, 'PUT', target, { body: obj.body })).status, 200);
    const get = await runCli(['get', ...args], { env: t.env });
    assert.equal(get.code, 4, get.stderr);
    assert.match(get.stderr, /chunk 2: authentication failed/);
  });

  // Ranges past the end of an object are no network fault: they were retried for half a minute
  // and then reported as a store failure (exit 1), with verify printing no report at all.
  for (const [label, keep] of [
    ['truncated', 500],
    ['emptied', 0],
  ] as const) {
    test(`a ${label} chunk object is corruption (exit 4) for get and verify, at once`, async () => {
      const args = [...t.args, '--name', `tamper/${label}`, '--summary', 'none', ...KEY];
      const put = await runCli(['put', ...args, '--chunk-size', String(CHUNK)], { input: DATA, env: t.env });
      assert.equal(put.code, 0, put.stderr);
      const target = `/${t.bucket}/tamper/${label}/chunks/00000001`;
      const obj = await s3Request(t.server!, 'GET', target);
      assert.equal((await s3Request(t.server!, 'PUT', target, { body: obj.body.subarray(0, keep) })).status, 200);
      const get = await runCli(['get', ...args], { env: t.env });
      assert.equal(get.code, 4, get.stderr);
      assert.match(get.stderr, /chunks\/00000001: the object is shorter than expected/);
      const verify = await runCli(['verify', ...args.filter((a) => a !== '--summary' && a !== 'none'), '--json'], { env: t.env });
      assert.equal(verify.code, 4, verify.stderr);
      const report = JSON.parse(verify.stdout.toString());
      assert.equal(report.chunks[1].status, 'size-mismatch');
    });
  }
});
