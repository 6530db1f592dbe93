import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, KEY_HEX, runCli, tempDir, testBytes } from '../helpers/cli.js';
import { serverEnv } from '../helpers/targets.js';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.js';
import { createBucket, s3Request, startMoto, type S3Server } from '../harness/servers.js';

const CHUNK = 100 * 1024;
const DATA = testBytes(8 * CHUNK + 99, 11);
const chunkKey = (name: string, i: number) => `${name}/chunks/${String(i).padStart(8, '0')}`;

describe('faults: stalls, lost answers, crashes between acknowledgement and journal (moto behind a fault proxy)', () => {
  let moto: S3Server;
  let bucket: string;
  let p: FaultProxy;
  const state = tempDir('faults');
  before(async () => {
    moto = await startMoto();
    bucket = `faults-${randomBytes(4).toString('hex')}`;
    await createBucket(moto, bucket);
    p = await startFaultProxy(moto);
  });
  after(async () => {
    await p?.stop();
    await moto?.stop();
    state.cleanup();
  });
  const env = (extra: Record<string, string> = {}) => ({ ...serverEnv(moto), S3DUCT_STATE_DIR: state.dir, ...extra });
  const args = (name: string) => ['--bucket', bucket, '--endpoint-url', p.endpoint, '--retries', '4', '--name', name, '--key', `hex:${KEY_HEX}`, '--summary', 'none'];

  test('a stalled request times out and is retried: put and get complete', async () => {
    p.setFaults([]);
    const name = 'stall/one';
    const firstOnly = (op: string, key: string) => {
      let seen = false;
      return (r: { op: string; key?: string }) => (r.op === op && r.key === key && !seen ? (seen = true) : false);
    };
    const gate = p.hold(firstOnly('PutObject', chunkKey(name, 1)));
    const put = runCli(['put', ...args(name), '--chunk-size', String(CHUNK)], { input: DATA, env: env({ S3DUCT_REQUEST_TIMEOUT: '2' }) });
    await gate.waitHeld(1);
    // Never released until the client gave up on it and retried.
    const r = await put;
    gate.release();
    assert.equal(r.code, 0, r.stderr);
    const getGate = p.hold(firstOnly('GetObject', chunkKey(name, 2)));
    const get = runCli(['get', ...args(name)], { env: env({ S3DUCT_REQUEST_TIMEOUT: '2' }) });
    await getGate.waitHeld(1);
    const g = await get;
    getGate.release();
    assert.equal(g.code, 0, g.stderr);
    assert.ok(g.stdout.equals(DATA));
  });

  test('a lost CreateMultipartUpload answer leaves no multipart upload behind', async () => {
    p.setFaults([{ match: { op: 'CreateMultipartUpload' }, kinds: ['lost-response'], nth: [1] }]);
    const big = testBytes(7 * 1024 * 1024, 4);
    const r = await runCli(['put', ...args('lost/create'), '--chunk-size', '7M', '--part-size', '5M'], { input: big, env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p.faultsInjected() > 0, true);
    const uploads = await s3Request(moto, 'GET', `/${bucket}`, { query: { uploads: '' } });
    assert.doesNotMatch(uploads.body.toString(), /<UploadId>/);
    p.setFaults([]);
  });

  test('kill -9 between the store acknowledging chunk 3 and the journal write: resume re-sends only chunk 3 onwards', async () => {
    p.setFaults([]);
    p.clearLog();
    const name = 'crash/ack';
    const put = ['put', ...args(name), '--chunk-size', String(CHUNK), '--upload-workers', '1'];
    const crashed = await runCli(put, { input: DATA, env: env({ S3DUCT_TEST_CRASH: 'after-ack:3' }) });
    assert.equal(crashed.code, -1, crashed.stderr);
    const resumed = await runCli(put, { input: DATA, env: env() });
    assert.equal(resumed.code, 0, resumed.stderr);
    for (let i = 0; i < 3; i++) assert.equal(p.count({ op: 'PutObject', key: chunkKey(name, i) }), 1, `chunk ${i} was sent again`);
    assert.equal(p.count({ op: 'PutObject', key: chunkKey(name, 3) }), 2, 'the unjournaled chunk is sent again');
    const get = await runCli(['get', ...args(name)], { env: env() });
    assert.equal(get.code, 0, get.stderr);
    assert.ok(get.stdout.equals(DATA));
  });

  test('retries exhausted: exit 6 and the same command resumes', async () => {
    const name = 'exhausted/one';
    p.setFaults([{ match: { op: 'PutObject', key: chunkKey(name, 4) }, kinds: ['internal-error'], rate: 1 }]);
    const put = ['put', ...args(name), '--chunk-size', String(CHUNK), '--retries', '1'];
    const failed = await runCli(put, { input: DATA, env: env() });
    assert.equal(failed.code, 6, failed.stderr);
    assert.match(failed.stderr, /run the same command again to resume/);
    assert.equal(failed.stderr.trim().split('\n').length, 1, failed.stderr);
    p.setFaults([]);
    const ok = await runCli(put, { input: DATA, env: env() });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /resuming/);
  });

  // Once the manifest is written the backup is complete: a failed clean-up step used to make
  // the put exit 6 ("interrupted, run again") for a stream that was whole.
  test('deletes failing after the manifest: exit 0 with a warning, and the rerun finishes the tidying', async () => {
    const name = 'tidy/fails';
    p.setFaults([{ match: { op: ['DeleteObjects', 'DeleteObject'] }, kinds: ['internal-error'], rate: 1 }]);
    const put = ['put', ...args(name), '--chunk-size', String(CHUNK), '--retries', '1'];
    const done = await runCli(put, { input: DATA, env: env() });
    p.setFaults([]);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /the stream is complete, but removing its lock failed .*running the same put again finishes the tidying/);
    const got = await runCli(['get', ...args(name)], { env: env() });
    assert.equal(got.code, 0, got.stderr);
    assert.ok(got.stdout.equals(DATA));
    const again = await runCli(put, { input: DATA, env: env() });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /had already finished/);
    const left = await s3Request(p.server, 'GET', `/${bucket}?list-type=2&prefix=${encodeURIComponent(`${name}/`)}`);
    assert.doesNotMatch(left.body.toString(), /<Key>[^<]*\/(lock|resume)<\/Key>/, 'lock or journal left after the rerun');
  });

  test('permanent errors fail fast, without retries: a missing bucket', async () => {
    p.clearLog();
    const r = await runCli(['put', '--bucket', 'no-such-bucket-here', '--endpoint-url', p.endpoint, '--retries', '8', '--name', 'x', '--no-encrypt', '--summary', 'none'], { input: 'x', env: env() });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /bucket does not exist/);
    assert.ok(p.requests().length <= 3, `expected no retries, saw ${p.requests().length} requests`);
  });

  test('SIGINT or SIGTERM during get --output: exit 6, one line, and no restored plaintext left on disk', async () => {
    p.setFaults([]);
    const name = 'signal/get';
    const put = await runCli(['put', ...args(name), '--chunk-size', String(CHUNK)], { input: DATA, env: env() });
    assert.equal(put.code, 0, put.stderr);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const out = path.join(state.dir, `restored-${sig}`);
      const gate = p.hold({ op: 'GetObject', key: chunkKey(name, 3) });
      const child = spawn(process.execPath, [BIN, 'get', ...args(name), '--output', out, '--download-workers', '1'], { env: { ...process.env, ...env() }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const closed = new Promise<number | null>((r) => child.on('close', r));
      await gate.waitHeld(1);
      // Chunks 0 to 2 reach a temporary file while chunk 3 is held, before any rename.
      const partial = () => readdirSync(state.dir).filter((f) => f.startsWith(`restored-${sig}.s3duct-partial-`));
      for (const deadline = Date.now() + 10_000; !partial().length && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      assert.equal(partial().length, 1, `no temporary output while chunk 3 is held: ${err}`);
      child.kill(sig);
      const code = await closed;
      gate.release();
      assert.equal(code, 6, err);
      assert.match(err, new RegExp(`^s3duct: interrupted by ${sig}: the restore is incomplete; nothing was left at `));
      assert.equal(err.trim().split('\n').length, 1, err);
      assert.deepEqual(readdirSync(state.dir).filter((f) => f.startsWith(`restored-${sig}`)), [], 'a restored file or its temporary was left');
    }
  });
});
