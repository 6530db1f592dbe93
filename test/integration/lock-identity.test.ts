import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { KEY_HEX, expectOneLine, runCli, tempDir, testBytes } from '../helpers/cli.js';
import { s3Request } from '../harness/servers.js';
import { motoTarget, targetForSuite } from '../helpers/targets.js';

const CHUNK = 64 * 1024;
const DATA = testBytes(6 * CHUNK + 99, 41);
const OTHER = testBytes(6 * CHUNK + 99, 42);
const KEY = ['--key', `hex:${KEY_HEX}`];


/**
 * Who may take a stream's lock, and which interrupted put a later command may take for its
 * own. Each case here once let a put exit 0 over a stream that did not restore, or a delete
 * remove chunks a running put had just written.
 */
describe('locks and journals: whose they are (local store)', () => {
  const root = tempDir('lock-identity');
  const storeDir = path.join(root.dir, 'store');
  const store = ['--store', `file:${storeDir}`];
  const base = [...store, '--summary', 'none'];
  const machine = (label: string) => ({ S3DUCT_STATE_DIR: path.join(root.dir, `state-${label}`) });
  let n = 0;
  after(() => root.cleanup());
  const put = (name: string, label: string, input: Buffer = DATA, extra: string[] = [], env: Record<string, string> = {}) =>
    runCli(['put', ...base, '--name', name, '--chunk-size', String(CHUNK), ...KEY, ...extra], { input, env: { ...machine(label), ...env } });
  const get = (name: string, extra: string[] = []) => runCli(['get', ...base, '--name', name, ...KEY, ...extra], { env: machine('reader') });
  const lockFile = (key: string) => path.join(storeDir, key, 'lock');
  const writeLock = (key: string, body: Record<string, unknown>) => {
    mkdirSync(path.join(storeDir, key), { recursive: true });
    const now = new Date().toISOString();
    writeFileSync(lockFile(key), JSON.stringify({ lock: 's3duct-put', version: 1, streamId: 'ee'.repeat(16), token: 'theirs', since: now, refreshed: now, ...body }));
  };

  test('a lock is aged by the store\'s clock: a running put whose own clock is behind keeps it', async () => {
    const name = `skew${n++}`;
    // Written just now (the file's time), by a machine whose clock says 15 minutes ago.
    writeLock(name, { holder: 'elsewhere@other-host', refreshed: new Date(Date.now() - 15 * 60_000).toISOString() });
    expectOneLine(await put(name, 'a'), 7, /another put of "skew\d+" is running/);
    // The same lock, last written 11 minutes ago by the store's clock: stale, taken over.
    const old = new Date(Date.now() - 11 * 60_000);
    utimesSync(lockFile(name), old, old);
    const r = await put(name, 'a');
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await get(name)).stdout.equals(DATA));
  });

  test('a lock of this state directory is taken over only if its process is gone (the store named another way has another local lock)', async () => {
    const name = `self${n++}`;
    assert.equal((await put(`warmup${n++}`, 'b')).code, 0); // makes state-b/id
    const holder = `${readFileSync(path.join(machine('b').S3DUCT_STATE_DIR, 'id'), 'utf8').trim()}@${hostname()}`;
    const started = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    writeLock(name, { holder, pid: process.pid, started: started.slice(started.lastIndexOf(')') + 2).split(' ')[19] });
    expectOneLine(await put(name, 'b'), 7, /another put of "self\d+" is running/);
    const dead = Number(execFileSync('sh', ['-c', 'echo $$']).toString());
    writeLock(name, { holder, pid: dead });
    const r = await put(name, 'b');
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await get(name)).stdout.equals(DATA));
  });

  test('a journaled chunk replaced by another of the same size (another put\'s, after a --restart elsewhere) makes the put start over', async () => {
    const name = `replaced${n++}`;
    assert.equal((await put(name, 'c', DATA, [], { S3DUCT_TEST_CRASH: 'after-journal:2' })).code, -1);
    const chunks = path.join(storeDir, name, 'chunks');
    copyFileSync(path.join(chunks, '00000001'), path.join(chunks, '00000000.new'));
    execFileSync('mv', [path.join(chunks, '00000000.new'), path.join(chunks, '00000000')]);
    const r = await put(name, 'c');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /cannot be resumed: chunk 0 in the store is not the one it stored; starting it over/);
    const got = await get(name);
    assert.equal(got.code, 0, got.stderr);
    assert.ok(got.stdout.equals(DATA));
  });

  test('a put that died after its manifest is finished only by its own machine: another machine\'s put of the name is refused, not told "already finished"', async () => {
    const name = `finished${n++}`;
    // Small chunks: the journal's store copy is written every 32 chunks.
    const small = ['--chunk-size', '8192'];
    assert.equal((await put(name, 'd', DATA, small, { S3DUCT_TEST_CRASH: 'after-manifest:0' })).code, -1);
    assert.ok(existsSync(path.join(storeDir, name, 'resume')), 'the crashed put left no store copy of its journal: this test would prove nothing');
    expectOneLine(await put(name, 'e', OTHER, small), 7, /already exists/);
    const mine = await put(name, 'd', DATA, small);
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stderr, /had already finished/);
    assert.ok((await get(name)).stdout.equals(DATA));
  });

  test('"already finished" needs this machine\'s journal to be the manifest\'s, chunk for chunk: a stream finished elsewhere with another tail is not', async () => {
    const name = `tail${n++}`;
    const small = ['--chunk-size', '8192'];
    const other = Buffer.concat([DATA.subarray(0, 32 * 8192), OTHER.subarray(32 * 8192)]);
    // Machine k stops after 41 chunks; the store copy of its journal holds the first 32.
    assert.equal((await put(name, 'k', DATA, small, { S3DUCT_TEST_CRASH: 'after-journal:40' })).code, -1);
    // Machine l, once k's lock is stale, resumes from that copy (same first 32 chunks) and
    // finishes with another tail.
    const old = new Date(Date.now() - 11 * 60_000);
    utimesSync(lockFile(name), old, old);
    const elsewhere = await put(name, 'l', other, small, { S3DUCT_TEST_CRASH: '' });
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.match(elsewhere.stderr, /resuming the interrupted put/);
    expectOneLine(await put(name, 'k', DATA, small), 7, /already exists/);
    assert.ok((await get(name)).stdout.equals(other));
  });

  test('a delete of a private stream\'s id is refused while its put holds the lock', async () => {
    const name = `private${n++}`;
    const crashed = await put(name, 'f', DATA, ['--private-names'], { S3DUCT_TEST_CRASH: 'after-journal:1' });
    assert.equal(crashed.code, -1, crashed.stderr);
    const id = readdirSync(storeDir).find((d) => d.startsWith('s3d-') && existsSync(lockFile(d)));
    assert.ok(id, 'the private put took no store lock');
    expectOneLine(await runCli(['delete', ...store, id, '--yes'], { env: machine('g') }), 7, /another put of "s3d-\w+" is running/);
    const resumed = await put(name, 'f', DATA, ['--private-names']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok((await get(name, ['--private-names'])).stdout.equals(DATA));
  });

  test('private names: a version whose put died after its manifest is complete, and the next put stores a new version', async () => {
    const name = `versions${n++}`;
    assert.equal((await put(name, 'h', DATA, ['--private-names'], { S3DUCT_TEST_CRASH: 'after-manifest:0' })).code, -1);
    const next = await put(name, 'h', OTHER, ['--private-names']);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /had finished before it could clear its journal; that version is complete, and this put stores a new one/);
    assert.ok((await get(name, ['--private-names'])).stdout.equals(OTHER));
  });

  test('delete leaves no lock behind, takes only chunks/<n>, and a --prefix may not use reserved names', async () => {
    const name = `del${n++}`;
    assert.equal((await put(name, 'i')).code, 0);
    writeFileSync(path.join(storeDir, name, 'chunks', 'not-a-chunk'), 'someone else\'s');
    const r = await runCli(['delete', ...store, name, '--yes'], { env: machine('i') });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(path.join(storeDir, name, 'chunks')), ['not-a-chunk']);
    assert.ok(!existsSync(lockFile(name)));
    expectOneLine(await runCli(['delete', ...store, `none${n++}`, '--yes'], { env: machine('i') }), 5, /no stream/);
    assert.ok(!readdirSync(storeDir).some((d) => d.startsWith('none')), 'a delete of nothing left a lock');
    expectOneLine(await runCli(['put', ...base, '--prefix', `${name}/chunks`, '--name', 'x', ...KEY], { input: DATA, env: machine('i') }), 3, /"chunks" is reserved/);
  });

  test('a state directory whose id was left empty (a full disk) gets a new id, and an empty pipe is said aloud', async () => {
    const state = machine('j').S3DUCT_STATE_DIR;
    mkdirSync(state, { recursive: true });
    writeFileSync(path.join(state, 'id'), '');
    const r = await put(`empty${n++}`, 'j', Buffer.alloc(0));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /WARNING: the input was empty/);
    assert.match(readFileSync(path.join(state, 'id'), 'utf8'), /^[0-9a-f]{32}\n$/);
  });
});

describe('private names and list when a manifest is archived (moto)', () => {
  const target = targetForSuite(motoTarget);
  const archive = async (key: string) => {
    const t = target();
    const r = await s3Request(t.server!, 'PUT', `/${t.bucket}/${key}`, {
      headers: { 'x-amz-copy-source': `/${t.bucket}/${key}`, 'x-amz-storage-class': 'DEEP_ARCHIVE', 'x-amz-metadata-directive': 'REPLACE' },
    });
    assert.equal(r.status, 200, r.body.toString());
  };

  test('get NAME refuses (exit 2) when the newest version\'s manifest is archived, rather than restore an older one; list shows the row', async () => {
    const t = target();
    const put = (input: Buffer) => runCli(['put', ...t.args, '--name', 'doc', '--private-names', ...KEY, '--summary', 'json'], { input, env: t.env });
    const first = await put(DATA);
    assert.equal(first.code, 0, first.stderr);
    const second = await put(OTHER);
    assert.equal(second.code, 0, second.stderr);
    const newest = JSON.parse(second.stderr.toString().trim().split('\n').pop()!).id as string;
    await archive(`${newest}/manifest`);
    expectOneLine(await runCli(['get', 'doc', ...t.args, '--private-names', ...KEY], { env: t.env }), 2, new RegExp(`cannot tell which version of "doc" is the newest: ${newest} has a manifest this command cannot read`));
    const list = await runCli(['list', ...t.args, ...KEY, '--json'], { env: t.env });
    assert.equal(list.code, 0, list.stderr);
    const rows = JSON.parse(list.stdout.toString()) as Array<{ path: string; note?: string }>;
    assert.match(rows.find((r) => r.path === newest)?.note ?? '', /manifest archived/);
    assert.equal(rows.length, 2);
  });

  test('restore of a stream whose manifest was archived too requests the manifest first (exit 2), then goes on', async () => {
    const t = target();
    const put = await runCli(['put', ...t.args, '--name', 'lifecycled', ...KEY, '--summary', 'none'], { input: DATA, env: t.env });
    assert.equal(put.code, 0, put.stderr);
    await archive('lifecycled/manifest');
    expectOneLine(await runCli(['get', 'lifecycled', ...t.args, ...KEY], { env: t.env }), 2, /manifest: archived/);
    expectOneLine(await runCli(['restore', 'lifecycled', ...t.args, ...KEY], { env: t.env }), 2, /the manifest lifecycled\/manifest is archived too .*its restore was requested/);
    const head = await s3Request(t.server!, 'HEAD', `/${t.bucket}/lifecycled/manifest`);
    assert.match(String(head.headers['x-amz-restore'] ?? ''), /ongoing-request/);
    const again = await runCli(['restore', 'lifecycled', ...t.args, ...KEY], { env: t.env });
    assert.equal(again.code, 0, again.stderr);
  });
});
