import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { utimesSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { streamStateStem } from '../../src/resume/state-dir.js';
import { after, before, describe, test } from 'node:test';
import { BIN, KEY_HEX, runCli, tempDir, testBytes } from '../helpers/cli.js';
import { motoTarget, targetForSuite } from '../helpers/targets.js';
import { s3Request } from '../harness/servers.js';

const CHUNK = 64 * 1024;
const DATA = testBytes(3 * CHUNK + 10, 3);
const KEY = ['--key', `hex:${KEY_HEX}`];

/** Every file under dir, relative, sorted. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as any[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

describe('delete (local store)', () => {
  const store = tempDir('delete');
  const state = tempDir('delete-state');
  const env = { S3DUCT_STATE_DIR: state.dir };
  const base = ['--store', `file:${store.dir}`];
  after(() => {
    store.cleanup();
    state.cleanup();
  });
  const cli = (args: string[], extraEnv: Record<string, string> = {}, input?: Buffer) => runCli(args, { env: { ...env, ...extraEnv }, input });
  const putArgs = (name: string) => ['put', ...base, '--summary', 'none', '--chunk-size', String(CHUNK), '--name', name, ...KEY];
  const put = async (name: string) => {
    const r = await cli(putArgs(name), {}, DATA);
    assert.equal(r.code, 0, r.stderr);
  };

  test('refuses without --yes off a terminal, --dry-run touches nothing, --yes removes the stream and its leftovers only', async () => {
    await put('host/a');
    await put('host/a/nested'); // a different stream living under host/a/
    await put('host/ab');
    // What interrupted puts leave: a temporary file, resume and lock state.
    writeFileSync(path.join(store.dir, 'host/a/chunks/00000003.s3duct-partial-0123abcd'), 'x');
    writeFileSync(path.join(store.dir, 'host/a/resume'), 'r');
    writeFileSync(path.join(store.dir, 'host/a/lock'), 'l');
    // Unreadable, so in use until 10 minutes old by the store's clock (the file's time).
    const old = new Date(Date.now() - 11 * 60_000);
    utimesSync(path.join(store.dir, 'host/a/lock'), old, old);
    const before = files(store.dir);

    const refused = await cli(['delete', ...base, '--name', 'host/a']);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /pass --yes/);
    assert.equal(refused.stderr.trim().split('\n').length, 1);

    const dry = await cli(['rm', ...base, '--name', 'host/a', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout.toString());
    assert.equal(plan.deleted, false);
    assert.deepEqual(plan.objects.map((o: any) => o.key).sort(), [
      'host/a/chunks/00000000',
      'host/a/chunks/00000001',
      'host/a/chunks/00000002',
      'host/a/chunks/00000003',
      'host/a/lock',
      'host/a/manifest',
      'host/a/resume',
    ]);
    assert.deepEqual(plan.incompleteUploads, [{ key: 'host/a/chunks/00000003', id: 'host/a/chunks/00000003.s3duct-partial-0123abcd' }]);
    assert.deepEqual(files(store.dir), before);

    const del = await cli(['delete', ...base, '--name', 'host/a', '--yes']);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout.toString(), /^deleted stream "host\/a"/);
    assert.deepEqual(
      files(store.dir),
      before.filter((f) => !f.startsWith('host/a/') || f.startsWith('host/a/nested/')),
    );
    for (const other of ['host/a/nested', 'host/ab']) assert.equal((await cli(['verify', ...base, '--name', other, ...KEY])).code, 0);

    const again = await cli(['delete', ...base, '--name', 'host/a', '--yes']);
    assert.equal(again.code, 5);
    assert.match(again.stderr, /no stream "host\/a"/);
  });

  test('removes an unfinished put (chunks, no manifest) and prunes empty directories', async () => {
    await put('half');
    rmSync(path.join(store.dir, 'half/manifest'));
    const r = await cli(['rm', ...base, '--name', 'half', '-y']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /no manifest \(an unfinished put\)/);
    assert.equal(existsSync(path.join(store.dir, 'half')), false);
  });

  test('with --key --private-names, delete NAME finds the name like get does (no profile needed)', async () => {
    const put = await cli(['put', ...base, '--summary', 'json', '--name', 'secret/doc', '--private-names', ...KEY], {}, Buffer.from('x'));
    assert.equal(put.code, 0, put.stderr);
    const id = JSON.parse(put.stderr.toString().trim().split('\n').pop()!).id as string;
    const r = await cli(['delete', ...base, 'secret/doc', '--private-names', ...KEY, '-y']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(path.join(store.dir, id)), false);
  });

  test('an interrupted put: its chunks and local journal go, so a new put of the name starts afresh', async () => {
    const crashed = await cli(putArgs('crashed'), { S3DUCT_TEST_CRASH: 'after-journal:1' }, DATA);
    assert.equal(crashed.code, -1, crashed.stderr);
    const journals = () => readdirSync(state.dir).filter((f) => f.endsWith('.journal'));
    assert.equal(journals().length, 1);
    const r = await cli(['delete', ...base, '--name', 'crashed', '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.toString());
    assert.equal(out.complete, false);
    assert.equal(out.localJournal, true);
    assert.deepEqual(journals(), []);
    assert.equal(existsSync(path.join(store.dir, 'crashed')), false);
    const other = testBytes(2 * CHUNK, 11);
    const again = await cli(putArgs('crashed'), {}, other);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /resuming/);
    const got = await cli(['get', ...base, '--name', 'crashed', ...KEY, '--summary', 'none']);
    assert.ok(got.stdout.equals(other));
  });

  test('a put of the stream running on this machine blocks the delete (exit 7)', async () => {
    await put('busy');
    // The lock a running put holds: this test process stands in for the put.
    process.env.S3DUCT_STATE_DIR = state.dir;
    const stem = streamStateStem(`file:${store.dir}`, '', 'busy');
    writeFileSync(`${stem}.lock`, JSON.stringify({ pid: process.pid, host: hostname() }));
    try {
      const r = await cli(['delete', ...base, '--name', 'busy', '--yes']);
      assert.equal(r.code, 7, r.stderr);
      assert.match(r.stderr, /another put or delete of stream "busy" is running/);
      assert.equal(existsSync(path.join(store.dir, 'busy/manifest')), true);
    } finally {
      rmSync(`${stem}.lock`);
    }
  });

  test('asks on a terminal and deletes only on "y"', async () => {
    await put('tty');
    const run = (answer: string) =>
      spawnSync('script', ['-qec', `${process.execPath} ${BIN} delete --store file:${store.dir} --name tty`, '/dev/null'], {
        input: answer,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, ...env },
      });
    const no = run('n\n');
    assert.match(no.stdout, /delete stream "tty".*\[y\/N\]/);
    assert.notEqual(no.status, 0);
    assert.equal(existsSync(path.join(store.dir, 'tty/manifest')), true);
    // Ctrl-D at the question: a no, said as such, and the delete's lock is released. (Ctrl-C
    // cannot be tested this way: typed before the prompt shows, it is a signal, not a key.)
    const quit = run('\x04');
    assert.equal(quit.status, 1, quit.stdout);
    assert.match(quit.stdout, /cancelled; nothing deleted/);
    assert.equal(existsSync(path.join(store.dir, 'tty/lock')), false);
    const yes = run('y\n');
    assert.equal(yes.status, 0, yes.stdout);
    assert.equal(existsSync(path.join(store.dir, 'tty')), false);
  });
});

describe('delete through a real S3 server (moto)', () => {
  const moto = targetForSuite(motoTarget);

  test('aborts in-progress multipart uploads of the stream, and no others', async () => {
    const t = moto();
    const args = [...t.args, '--name', 'srv/x'];
    const put = await runCli(['put', ...args, '--summary', 'none', '--chunk-size', String(CHUNK), ...KEY], { input: DATA, env: t.env });
    assert.equal(put.code, 0, put.stderr);
    const start = async (key: string) => {
      const r = await s3Request(t.server!, 'POST', `/${t.bucket}/${key}`, { query: { uploads: '' } });
      assert.equal(r.status, 200, r.body.toString());
    };
    await start('srv/x/chunks/00000007');
    await start('srv/xy/chunks/00000000'); // another stream's upload with a shared key prefix
    const uploads = async () => {
      const r = await s3Request(t.server!, 'GET', `/${t.bucket}`, { query: { uploads: '' } });
      return [...r.body.toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]).sort();
    };
    assert.deepEqual(await uploads(), ['srv/x/chunks/00000007', 'srv/xy/chunks/00000000']);

    const del = await runCli(['delete', ...args, '--yes', '--json'], { env: t.env });
    assert.equal(del.code, 0, del.stderr);
    const out = JSON.parse(del.stdout.toString());
    assert.equal(out.objects.length, 5); // manifest + 4 chunks
    assert.deepEqual(out.incompleteUploads.map((u: any) => u.key), ['srv/x/chunks/00000007']);
    assert.deepEqual(await uploads(), ['srv/xy/chunks/00000000']);
    const list = await s3Request(t.server!, 'GET', `/${t.bucket}`, { query: { 'list-type': '2', prefix: 'srv/x/' } });
    assert.doesNotMatch(list.body.toString(), /<Key>/);
  });
});
