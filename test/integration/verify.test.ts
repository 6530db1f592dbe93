import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KEY_HEX, runCli, tempDir, testBytes } from '../helpers/cli.js';
import { motoTarget, swiftTarget, targetForSuite } from '../helpers/targets.js';
import { startFaultProxy } from '../harness/fault-proxy.js';
import { s3Request } from '../harness/servers.js';

const CHUNK = 64 * 1024;
const DATA = testBytes(4 * CHUNK + 777, 7);
const KEY = ['--key', `hex:${KEY_HEX}`];

interface Report {
  ok: boolean;
  level: string;
  chunks: { index: number; key: string; status: string; detail?: string; storageClass?: string }[];
  streamProblem?: string;
}

function parseReport(stdout: Buffer): Report {
  return JSON.parse(stdout.toString()) as Report;
}

describe('verify (local store)', () => {
  const store = tempDir('verify');
  const base = ['--store', `file:${store.dir}`];
  let n = 0;
  const chunkFile = (name: string, i: number) => path.join(store.dir, name, 'chunks', String(i).padStart(8, '0'));
  after(() => store.cleanup());

  async function fresh(): Promise<string> {
    const name = `v/${n++}`;
    const r = await runCli(['put', ...base, '--summary', 'none', '--chunk-size', String(CHUNK), '--name', name, ...KEY], { input: DATA });
    assert.equal(r.code, 0, r.stderr);
    return name;
  }
  async function verify(name: string, extra: string[] = []) {
    const r = await runCli(['verify', ...base, '--name', name, ...KEY, '--json', ...extra]);
    assert.equal(r.stderr.split('\n').filter(Boolean).length <= 1, true, `at most one stderr line: ${r.stderr}`);
    return { ...r, report: parseReport(r.stdout) };
  }
  const statuses = (r: Report) => r.chunks.map((c) => c.status);

  test('a clean stream verifies at both levels and writes no plaintext to stdout', async () => {
    const name = await fresh();
    for (const level of [[], ['--quick']]) {
      const r = await verify(name, level);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.report.ok, true);
      assert.deepEqual(statuses(r.report), ['ok', 'ok', 'ok', 'ok', 'ok']);
      assert.equal(r.stdout.includes(DATA.subarray(0, 32)), false);
    }
    const text = await runCli(['verify', ...base, '--name', name, ...KEY]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout.toString(), /OK, 5 chunks read, decrypted and checked/);
  });

  test('a flipped byte: exit 4 and the report names the chunk', async () => {
    const name = await fresh();
    const b = readFileSync(chunkFile(name, 2));
    b[1000]! ^= 4;
    writeFileSync(chunkFile(name, 2), b);
    const r = await verify(name);
    assert.equal(r.code, 4, r.stderr);
    assert.deepEqual(statuses(r.report), ['ok', 'ok', 'corrupt', 'not-checked', 'not-checked']);
    assert.match(r.report.chunks[2]!.detail!, /chunk 2: authentication failed/);
    assert.match(r.stderr, /^s3duct: verify "v\/\d+": 1 problem/);
    // Same size, so metadata alone cannot see it: --quick passes (it promises no more).
    assert.equal((await verify(name, ['--quick'])).code, 0);
  });

  test('a missing chunk: exit 5 at both levels, naming the chunk', async () => {
    const name = await fresh();
    rmSync(chunkFile(name, 3));
    for (const level of [[], ['--quick']]) {
      const r = await verify(name, level);
      assert.equal(r.code, 5, r.stderr);
      assert.equal(r.report.chunks[3]!.status, 'missing');
      assert.equal(r.report.chunks[3]!.key, `${name}/chunks/00000003`);
    }
  });

  test('two chunks swapped: exit 4 naming the first swapped chunk', async () => {
    const name = await fresh();
    const [a, b] = [chunkFile(name, 0), chunkFile(name, 1)];
    renameSync(a, a + '.x');
    renameSync(b, a);
    renameSync(a + '.x', b);
    const r = await verify(name);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.report.chunks[0]!.status, 'corrupt');
    assert.match(r.report.chunks[0]!.detail!, /chunk 0: object holds chunk 1/);
  });

  test('--quick catches a truncated chunk without reading it', async () => {
    const name = await fresh();
    truncateSync(chunkFile(name, 1), 100);
    const r = await verify(name, ['--quick']);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.report.level, 'quick');
    assert.equal(r.report.chunks[1]!.status, 'size-mismatch');
    assert.match(r.report.chunks[1]!.detail!, /object has 100 bytes/);
  });

  test('an age-encrypted stream verifies with its identity file, and a damaged chunk is named', async () => {
    const id = path.join(store.dir, 'age-id');
    execFileSync('age-keygen', ['-o', id], { stdio: 'ignore' });
    const age = ['--age-identity', id];
    const put = await runCli(['put', ...base, '--summary', 'none', '--chunk-size', String(CHUNK), '--name', 'v/age', ...age], { input: DATA });
    assert.equal(put.code, 0, put.stderr);
    const clean = await runCli(['verify', 'v/age', ...base, ...age, '--json']);
    assert.equal(clean.code, 0, clean.stderr);
    const b = readFileSync(chunkFile('v/age', 3));
    b[500]! ^= 1;
    writeFileSync(chunkFile('v/age', 3), b);
    const bad = await runCli(['verify', 'v/age', ...base, ...age, '--json']);
    assert.equal(bad.code, 4, bad.stderr);
    assert.equal(parseReport(bad.stdout).chunks[3]!.status, 'corrupt');
  });

  test('put and get take --json for their summary, like every reporting command', async () => {
    const name = `v/${n++}`;
    const put = await runCli(['put', ...base, '--name', name, ...KEY, '--json'], { input: DATA });
    assert.equal(put.code, 0, put.stderr);
    assert.equal(JSON.parse(put.stderr).command, 'put');
    const get = await runCli(['get', ...base, '--name', name, ...KEY, '--json']);
    assert.ok(get.stdout.equals(DATA));
    assert.equal(JSON.parse(get.stderr).bytes, DATA.length);
  });

  test('wrong key and unknown stream fail before any chunk is looked at', async () => {
    const name = await fresh();
    const wrong = await runCli(['verify', ...base, '--name', name, '--key', `hex:${'e'.repeat(64)}`]);
    assert.equal(wrong.code, 8, wrong.stderr);
    const none = await runCli(['verify', ...base, '--name', 'v/none', ...KEY]);
    assert.equal(none.code, 5, none.stderr);
    assert.equal(none.stderr.trim().split('\n').length, 1);
  });
});

describe('verify through a real S3 server (moto)', () => {
  const moto = targetForSuite(motoTarget);

  test('--quick works on a DEEP_ARCHIVE stream whose GETs fail; ETag replacement is caught', async () => {
    const t = moto();
    const args = [...t.args, '--name', 'deep/one', ...KEY];
    const put = await runCli(['put', ...args, '--summary', 'none', '--chunk-size', String(CHUNK), '--storage-class', 'DEEP_ARCHIVE'], { input: DATA, env: t.env });
    assert.equal(put.code, 0, put.stderr);

    // Through a request-counting proxy: --quick reads the manifest and lists, never GETs a chunk.
    const proxy = await startFaultProxy(t.server!);
    try {
      const viaProxy = ['--bucket', t.bucket!, '--endpoint-url', proxy.endpoint, '--retries', '0', '--name', 'deep/one', ...KEY];
      const quick = await runCli(['verify', ...viaProxy, '--quick', '--json'], { env: t.env });
      assert.equal(quick.code, 0, quick.stderr);
      const report = parseReport(quick.stdout);
      assert.equal(report.chunks.length, 5);
      assert.ok(report.chunks.every((c) => c.status === 'ok' && c.storageClass === 'DEEP_ARCHIVE'));
      const gets = proxy.requests().filter((r) => r.op === 'GetObject').map((r) => r.key);
      assert.deepEqual(gets, ['deep/one/manifest']);
      assert.equal(proxy.count({ op: 'ListObjectsV2' }), 1);
      assert.equal(proxy.count({ op: 'HeadObject' }), 0);
    } finally {
      await proxy.stop();
    }

    // A full verify needs the data: archived chunks are reported, exit 2 (restore first).
    const full = await runCli(['verify', ...args, '--json'], { env: t.env });
    assert.equal(full.code, 2, full.stderr);
    assert.equal(parseReport(full.stdout).chunks[0]!.status, 'archived');

    // Same-size replacement of a chunk object: only the ETag can tell at the quick level.
    const target = `/${t.bucket}/deep/one/chunks/00000001`;
    const other = testBytes(2 * CHUNK, 99);
    const size = Number((await s3Request(t.server!, 'HEAD', target)).headers['content-length']);
    assert.ok(size > CHUNK && size < 2 * CHUNK);
    assert.equal((await s3Request(t.server!, 'PUT', target, { body: other.subarray(0, size) })).status, 200);
    const after = await runCli(['verify', ...args, '--quick', '--json'], { env: t.env });
    assert.equal(after.code, 4, after.stderr);
    assert.equal(parseReport(after.stdout).chunks[1]!.status, 'etag-mismatch');

    // A deleted (archived) chunk is reported missing too; the replaced one keeps the exit at 4
    // (integrity outranks missing).
    assert.equal((await s3Request(t.server!, 'DELETE', `/${t.bucket}/deep/one/chunks/00000003`)).status, 204);
    const gone = await runCli(['verify', ...args, '--quick', '--json'], { env: t.env });
    assert.equal(gone.code, 4, gone.stderr);
    assert.deepEqual(
      parseReport(gone.stdout).chunks.map((c) => c.status),
      ['ok', 'etag-mismatch', 'ok', 'missing', 'ok'],
    );
  });
});

describe('verify and delete through a production S3 implementation (Swift s3api)', () => {
  const swift = targetForSuite(swiftTarget);

  test('multipart chunk objects pass --quick (listing ETags match the recorded ones), then delete removes them', async () => {
    const t = swift();
    const args = [...t.args, '--name', 'sw/mp'];
    const data = testBytes(13 * 1024 * 1024, 3);
    const put = await runCli(['put', ...args, ...KEY, '--chunk-size', '6M', '--part-size', '5M', '--summary', 'none'], { input: data, env: t.env });
    assert.equal(put.code, 0, put.stderr);
    const quick = await runCli(['verify', ...args, ...KEY, '--quick', '--json'], { env: t.env });
    assert.equal(quick.code, 0, quick.stderr);
    assert.deepEqual(parseReport(quick.stdout).chunks.map((c) => c.status), ['ok', 'ok', 'ok']);
    const del = await runCli(['delete', ...args, '--yes'], { env: t.env });
    assert.equal(del.code, 0, del.stderr);
    const after = await runCli(['verify', ...args, ...KEY, '--quick'], { env: t.env });
    assert.equal(after.code, 5, after.stderr);
    assert.match(after.stderr, /no stream "sw\/mp"/);
  });
});
