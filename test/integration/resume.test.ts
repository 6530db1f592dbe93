import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { journalChunks } from '../helpers/journal.js';
import { BIN, KEY_HEX, OTHER_KEY_HEX, runCli, tempDir, testBytes } from '../helpers/cli.js';
import { motoTarget, type Target } from '../helpers/targets.js';
import { s3Request } from '../harness/servers.js';

const CHUNK = 64 * 1024;
const DATA = testBytes(10 * CHUNK + 777, 5); // 11 chunks
const KEY = ['--key', `hex:${KEY_HEX}`];

describe('resume after a crash (local store)', () => {
  const root = tempDir('resume');
  const env = { S3DUCT_STATE_DIR: path.join(root.dir, 'state') };
  const storeDir = path.join(root.dir, 'store');
  const base = ['--store', `file:${storeDir}`, '--summary', 'none'];
  let n = 0;
  after(() => root.cleanup());

  const put = (name: string, extra: string[] = [], input: Buffer = DATA, more: Record<string, string> = {}) =>
    runCli(['put', ...base, '--name', name, '--chunk-size', String(CHUNK), ...KEY, ...extra], { input, env: { ...env, ...more } });
  const get = (name: string, extra: string[] = []) => runCli(['get', ...base, '--name', name, ...KEY, ...extra], { env });
  const inodes = (name: string) => {
    const dir = path.join(storeDir, name, 'chunks');
    return existsSync(dir) ? new Map(readdirSync(dir).map((f) => [f, statSync(path.join(dir, f)).ino])) : new Map<string, number>();
  };

  for (const point of ['after-ack:0', 'after-ack:2', 'after-journal:0', 'after-journal:3', 'before-manifest:0', 'after-manifest:0', 'after-unlock:0']) {
    test(`killed ${point}: the same put resumes, re-sends nothing journaled, restores byte-identically`, async () => {
      const name = `crash${n++}`;
      const crashed = await put(name, [], DATA, { S3DUCT_TEST_CRASH: point });
      assert.equal(crashed.code, -1, `expected SIGKILL, got ${crashed.code}: ${crashed.stderr}`);
      const journaled = journalChunks(env.S3DUCT_STATE_DIR);
      const before = inodes(name);
      const resumed = await put(name);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, point.startsWith('after-manifest') || point.startsWith('after-unlock') ? /had already finished/ : /resuming the interrupted put/);
      const after = inodes(name);
      for (let i = 0; i < journaled; i++) {
        const f = String(i).padStart(8, '0');
        assert.equal(after.get(f), before.get(f), `journaled chunk ${i} was uploaded again`);
      }
      const r = await get(name);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.equals(DATA), 'restored bytes differ');
      assert.equal(journalChunks(env.S3DUCT_STATE_DIR), -1, 'journal removed after success');
    });
  }

  test('killed from outside (kill -9) mid-stream while input trickles in, then resumed', async () => {
    const name = `ext${n++}`;
    const child = spawn(process.execPath, [BIN, 'put', ...base, '--name', name, '--chunk-size', String(CHUNK), ...KEY], { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin.on('error', () => {});
    child.stdin.write(DATA.subarray(0, 5 * CHUNK + 100)); // enough for several chunks, then the producer stalls
    const deadline = Date.now() + 20_000;
    while (journalChunks(env.S3DUCT_STATE_DIR) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(journalChunks(env.S3DUCT_STATE_DIR) >= 3, 'put did not journal chunks');
    const exited = new Promise((r) => child.on('close', r));
    child.kill('SIGKILL');
    await exited;
    const resumed = await put(name);
    assert.equal(resumed.code, 0, resumed.stderr);
    const r = await get(name);
    assert.ok(r.stdout.equals(DATA));
  });

  test('resume with another key, chunk size, storage class or tags is refused; a shorter or changed input fails strict resume', async () => {
    const name = `refuse${n++}`;
    assert.equal((await put(name, [], DATA, { S3DUCT_TEST_CRASH: 'after-journal:4' })).code, -1);
    const otherKey = await runCli(['put', ...base, '--name', name, '--chunk-size', String(CHUNK), '--key', `hex:${OTHER_KEY_HEX}`], { input: DATA, env });
    assert.equal(otherKey.code, 7);
    assert.match(otherKey.stderr, /different key/);
    const otherSize = await runCli(['put', ...base, '--name', name, '--chunk-size', String(2 * CHUNK), ...KEY], { input: DATA, env });
    assert.equal(otherSize.code, 7);
    assert.match(otherSize.stderr, /chunk-size/);
    const plain = await runCli(['put', ...base, '--name', name, '--chunk-size', String(CHUNK), '--no-encrypt'], { input: DATA, env });
    assert.equal(plain.code, 7);
    // Chunks of one stream share one storage class and one set of tags.
    const otherClass = await put(name, ['--storage-class', 'STANDARD_IA']);
    assert.equal(otherClass.code, 7, otherClass.stderr);
    assert.match(otherClass.stderr, /--storage-class STANDARD \(this put: STANDARD_IA\)/);
    const otherTags = await put(name, ['--tag', 'owner=bob']);
    assert.equal(otherTags.code, 7, otherTags.stderr);
    assert.match(otherTags.stderr, /other --tag values \(none; this put: owner=bob\)/);
    const shorter = await put(name, [], DATA.subarray(0, 3 * CHUNK));
    assert.equal(shorter.code, 4, shorter.stderr);
    assert.match(shorter.stderr, /input ended after 3 chunks/);
    const changed = Buffer.from(DATA);
    changed[2 * CHUNK + 5]! ^= 1;
    const diff = await put(name, [], changed);
    assert.equal(diff.code, 4);
    assert.match(diff.stderr, /chunk 2 of the input differs/);
    // Still resumable with the right input after all those refusals.
    const ok = await put(name);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok((await get(name)).stdout.equals(DATA));
  });

  test('--no-strict-resume discards on divergence; --restart starts over', async () => {
    const name = `loose${n++}`;
    assert.equal((await put(name, [], DATA, { S3DUCT_TEST_CRASH: 'after-journal:4' })).code, -1);
    const loose = await put(name, ['--no-strict-resume'], DATA.subarray(0, 2 * CHUNK));
    assert.equal(loose.code, 6, loose.stderr);
    const fresh = await put(name, [], DATA.subarray(0, 2 * CHUNK));
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.doesNotMatch(fresh.stderr, /resuming/);
    assert.ok((await get(name)).stdout.equals(DATA.subarray(0, 2 * CHUNK)));
    assert.equal(readdirSync(path.join(storeDir, name, 'chunks')).length, 2, 'chunks of the longer attempt removed');

    const other = `restart${n++}`;
    assert.equal((await put(other, [], DATA, { S3DUCT_TEST_CRASH: 'after-journal:4' })).code, -1);
    const restarted = await put(other, ['--restart'], DATA.subarray(CHUNK));
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.ok((await get(other)).stdout.equals(DATA.subarray(CHUNK)));
  });

  // A journal is one machine's record: the stream may have been deleted or started over
  // elsewhere since. Resuming then wrote a manifest over missing or foreign chunks, exit 0.
  test('a journal the store no longer matches starts over instead of resuming', async () => {
    const gone = `stale${n++}`;
    assert.equal((await put(gone, [], DATA, { S3DUCT_TEST_CRASH: 'after-journal:2' })).code, -1);
    rmSync(path.join(storeDir, gone, 'chunks', '00000001'));
    const r = await put(gone);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /cannot be resumed: chunk 1 is no longer in the store; starting it over/);
    assert.ok((await get(gone)).stdout.equals(DATA));

    const taken = `stale${n++}`;
    assert.equal((await put(taken, [], DATA, { S3DUCT_TEST_CRASH: 'after-journal:2' })).code, -1);
    const now = new Date().toISOString();
    const theirs = { lock: 's3duct-put', version: 1, streamId: 'ff'.repeat(16), holder: 'elsewhere', token: 't', since: now, refreshed: now, state: 'stopped' };
    writeFileSync(path.join(storeDir, taken, 'lock'), JSON.stringify(theirs));
    const again = await put(taken);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /another put has written the stream since/);
    assert.ok((await get(taken)).stdout.equals(DATA));
  });

  test('after a crash past the manifest, --overwrite still writes the new data (not the finished stream)', async () => {
    const name = `over${n++}`;
    assert.equal((await put(name, [], DATA, { S3DUCT_TEST_CRASH: 'after-manifest:0' })).code, -1);
    const newer = DATA.subarray(0, 3 * CHUNK + 1);
    const r = await put(name, ['--overwrite'], newer);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /had already finished/);
    assert.ok((await get(name)).stdout.equals(newer));
  });

  test('get of an unfinished put says so; --partial writes its verified prefix', async () => {
    const name = `partial${n++}`;
    assert.equal((await put(name, [], DATA, { S3DUCT_TEST_CRASH: 'after-journal:3' })).code, -1);
    const r = await get(name);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /never finished/);
    const p = await get(name, ['--partial']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /PARTIAL/);
    assert.ok(p.stdout.equals(DATA.subarray(0, 4 * CHUNK)));
  });

  test('a second put of the same stream while one runs is refused; an existing stream is not overwritten by accident', async () => {
    const name = `busy${n++}`;
    const child = spawn(process.execPath, [BIN, 'put', ...base, '--name', name, '--chunk-size', String(CHUNK), ...KEY], { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
    child.stdin.on('error', () => {});
    child.stdin.write(DATA.subarray(0, CHUNK));
    await new Promise((r) => setTimeout(r, 800));
    const second = await put(name);
    assert.equal(second.code, 7);
    assert.match(second.stderr, /another put or delete of stream "busy\d+" is running/);
    const other = await put(`${name}-other`);
    assert.equal(other.code, 0, 'a different name is independent');
    child.stdin.end(DATA.subarray(CHUNK));
    assert.equal(await new Promise((r) => child.on('close', r)), 0);
    const again = await put(name);
    assert.equal(again.code, 7);
    assert.match(again.stderr, /already exists/);
    const over = await put(name, ['--overwrite'], DATA.subarray(0, 100));
    assert.equal(over.code, 0, over.stderr);
    assert.ok((await get(name)).stdout.equals(DATA.subarray(0, 100)));
  });
});

describe('resume through a real S3 server (moto)', () => {
  let t: Target;
  const root = tempDir('resume-s3');
  const env = () => ({ ...t.env, S3DUCT_STATE_DIR: root.dir });
  before(async () => {
    t = await motoTarget();
  });
  after(async () => {
    await t?.close();
    root.cleanup();
  });

  test('a crash mid multipart upload: resume aborts the orphan upload and completes the stream', async () => {
    const big = testBytes(12 * 1024 * 1024, 8);
    const args = ['put', ...t.args, '--name', 'mp/crash', '--chunk-size', '11M', '--part-size', '5M', '--summary', 'none', ...KEY];
    // Crash once chunk 0 (multipart) is stored while chunk 1 may be in flight.
    const crashed = await runCli(args, { input: big, env: { ...env(), S3DUCT_TEST_CRASH: 'after-journal:0' } });
    assert.equal(crashed.code, -1, crashed.stderr);
    const resumed = await runCli(args, { input: big, env: env() });
    assert.equal(resumed.code, 0, resumed.stderr);
    const uploads = await s3Request(t.server!, 'GET', `/${t.bucket}`, { query: { uploads: '' } });
    assert.doesNotMatch(uploads.body.toString(), /<UploadId>/, 'no multipart upload left behind');
    const get = await runCli(['get', ...t.args, '--name', 'mp/crash', ...KEY, '--summary', 'none'], { env: env() });
    assert.equal(get.code, 0, get.stderr);
    assert.ok(get.stdout.equals(big));
  });

  test('the store copy of the journal lets another machine (no local state) resume', async () => {
    const args = ['put', ...t.args, '--name', 'remote/again', '--chunk-size', String(CHUNK), '--summary', 'none', ...KEY];
    const crashedOn = tempDir('machine-a');
    // The store copy is refreshed at interruption, not at a SIGKILL: interrupt with SIGINT.
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...t.env, S3DUCT_STATE_DIR: crashedOn.dir }, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdin.on('error', () => {});
    const closed = new Promise((r) => child.on('close', r));
    child.stdin.write(DATA.subarray(0, 4 * CHUNK + 10));
    const deadline = Date.now() + 20_000;
    while (journalChunks(crashedOn.dir) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const code = await closed;
    assert.equal(code, 6, err);
    assert.match(err, /interrupted by SIGINT with \d+ chunks stored; run the same command again to resume/);
    crashedOn.cleanup();
    const resumed = await runCli(args, { input: DATA, env: env() });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming the interrupted put/);
    const get = await runCli(['get', ...t.args, '--name', 'remote/again', ...KEY, '--summary', 'none'], { env: env() });
    assert.ok(get.stdout.equals(DATA));
  });
});
