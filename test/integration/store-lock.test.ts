import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, KEY_HEX, runCli, tempDir, testBytes, type CliResult } from '../helpers/cli.js';
import { journalChunks } from '../helpers/journal.js';
import { localTarget, motoTarget, swiftTarget, type Target } from '../helpers/targets.js';

const CHUNK = 64 * 1024;
const DATA = testBytes(6 * CHUNK + 17, 31);
const KEY = ['--key', `hex:${KEY_HEX}`];

/**
 * Puts of one stream from different machines (here: different state directories, which is
 * also what `sudo` or a container amounts to) must not both write it: the second is refused
 * (exit 7) while the first runs, and neither a delete nor a put from elsewhere spoils it.
 */
function lockSuite(makeTarget: () => Promise<Target>) {
  let t: Target;
  const states = tempDir('lock-states');
  let n = 0;
  before(async () => {
    t = await makeTarget();
  });
  after(async () => {
    await t?.close();
    states.cleanup();
  });
  const machine = (label: string) => ({ ...t.env, S3DUCT_STATE_DIR: path.join(states.dir, label) });
  const streamArgs = (name: string) => [...t.args, '--name', name, '--summary', 'none', ...KEY];
  const args = (name: string) => [...streamArgs(name), '--chunk-size', String(CHUNK)];
  const oneLine = (r: CliResult, code: number, re: RegExp) => {
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  };

  /** A put on machine `label` that has stored two chunks and then waits for more input. */
  async function runningPut(name: string, label: string): Promise<{ child: ChildProcess; finish(): Promise<number | null> }> {
    const child = spawn(process.execPath, [BIN, 'put', ...args(name)], { env: { ...process.env, ...machine(label) }, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdin!.on('error', () => {});
    const closed = new Promise<number | null>((r) => child.on('close', r));
    child.stdin!.write(DATA.subarray(0, 3 * CHUNK + 5));
    const dir = machine(label).S3DUCT_STATE_DIR;
    const deadline = Date.now() + 20_000;
    while (journalChunks(dir) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(journalChunks(dir) >= 2, `the put on ${label} did not store chunks: ${err}`);
    return {
      child,
      finish: async () => {
        child.stdin!.end(DATA.subarray(3 * CHUNK + 5));
        const code = await closed;
        assert.equal(code, 0, err);
        return code;
      },
    };
  }

  test('a second put of a stream being written elsewhere is refused, as is a delete; the first completes intact', async () => {
    const name = `locked/busy${n++}`;
    const a = await runningPut(name, 'a');
    oneLine(await runCli(['put', ...args(name)], { input: DATA, env: machine('b') }), 7, /another put of "locked\/busy\d+" is running/);
    oneLine(await runCli(['put', ...args(name), '--overwrite'], { input: DATA, env: machine('b') }), 7, /another put .* is running/);
    oneLine(await runCli(['delete', ...t.args, '--name', name, '--yes'], { env: machine('b') }), 7, /another put of .* is running/);
    await a.finish();
    const got = await runCli(['get', ...streamArgs(name)], { env: machine('b') });
    assert.equal(got.code, 0, got.stderr);
    assert.ok(got.stdout.equals(DATA), 'the stream was spoiled');
    // Done: the lock is gone, so the stream is anyone's to replace or delete.
    const del = await runCli(['delete', ...t.args, '--name', name, '--yes'], { env: machine('b') });
    assert.equal(del.code, 0, del.stderr);
  });

  test('a killed put keeps its lock against other machines (--restart included), not against its own; a stopped one is anyone\'s to restart', async () => {
    const name = `locked/killed${n++}`;
    const killed = await runCli(['put', ...args(name)], { input: DATA, env: { ...machine('c'), S3DUCT_TEST_CRASH: 'after-journal:1' } });
    assert.equal(killed.code, -1, killed.stderr);
    oneLine(await runCli(['put', ...args(name)], { input: DATA, env: machine('d') }), 7, /another put of .* is running .*goes stale 10 minutes after/);
    // For all machine d can tell, that put still runs: --restart must not pull its stream away.
    oneLine(await runCli(['put', ...args(name), '--restart'], { input: DATA, env: machine('d') }), 7, /another put of .* is running .*--restart discards only a put that has stopped/);
    const resumed = await runCli(['put', ...args(name)], { input: DATA, env: machine('c') });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming the interrupted put/);

    const name2 = `locked/restart${n++}`;
    const running = await runningPut(name2, 'c');
    const closed = new Promise<number | null>((r) => running.child.on('close', r));
    running.child.kill('SIGINT');
    assert.equal(await closed, 6, 'a put stopped by SIGINT exits 6');
    const restarted = await runCli(['put', ...args(name2), '--restart'], { input: DATA, env: machine('d') });
    assert.equal(restarted.code, 0, restarted.stderr);
    const got = await runCli(['get', ...streamArgs(name2)], { env: machine('d') });
    assert.ok(got.stdout.equals(DATA));
  });

  test('no lock object is left by a finished put', async () => {
    const name = `locked/done${n++}`;
    const r = await runCli(['put', ...args(name)], { input: DATA, env: machine('e') });
    assert.equal(r.code, 0, r.stderr);
    const plan = await runCli(['delete', ...t.args, '--name', name, '--dry-run', '--json'], { env: machine('e') });
    assert.equal(plan.code, 0, plan.stderr);
    const keys = (JSON.parse(plan.stdout.toString()).objects as Array<{ key: string }>).map((o) => o.key);
    assert.ok(keys.includes(`${name}/manifest`));
    assert.ok(!keys.some((k) => k.endsWith('/lock')), `a lock object was left: ${keys}`);
  });
}

describe('store lock: local store', () => lockSuite(localTarget));
describe('store lock: S3 (moto, conditional create)', () => lockSuite(motoTarget));
// Swift's s3api refuses conditional PUTs (501): the lock is taken by HEAD, PUT and read-back.
describe('store lock: S3 without conditional writes (OpenStack Swift)', () => lockSuite(swiftTarget));
