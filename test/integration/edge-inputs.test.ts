import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KEY_HEX, runCli, tempDir, testBytes, type CliResult } from '../helpers/cli.js';

const CHUNK = 64 * 1024;
const DATA = testBytes(3 * CHUNK + 100, 23);
const KEY = ['--key', `hex:${KEY_HEX}`];

/** Unusual outputs, inputs and mistakes: each either works as a user would expect, or is one
 *  clear line with its exit code, leaving no plaintext and no half-written file behind. */
describe('edge cases of outputs, inputs and mistakes (local store)', () => {
  const tmp = tempDir('edge');
  const storeDir = path.join(tmp.dir, 'store');
  const base = ['--store', `file:${storeDir}`, '--summary', 'none'];
  const file = (name: string) => path.join(tmp.dir, name);
  after(() => tmp.cleanup());
  before(async () => {
    const r = await runCli(['put', ...base, '--name', 's', '--chunk-size', String(CHUNK), ...KEY], { input: DATA });
    assert.equal(r.code, 0, r.stderr);
  });
  const get = (extra: string[]) => runCli(['get', ...base, '--name', 's', ...KEY, ...extra]);
  function oneLineError(r: CliResult, code: number, message: RegExp) {
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /^s3duct: /);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one-line error expected, got: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /unexpected error/);
  }
  /** Names in tmp that a get under `stem` could have left. */
  const leftovers = (stem: string) => readdirSync(tmp.dir).filter((f) => f.startsWith(stem) && f.includes('s3duct-partial'));

  test('--output through a symlink writes the file it points to; the link stays a link', async () => {
    writeFileSync(file('target.bin'), 'old');
    symlinkSync(file('target.bin'), file('link.bin'));
    const r = await get(['--output', file('link.bin')]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync(file('link.bin')).isSymbolicLink(), 'the symlink was replaced');
    assert.ok(readFileSync(file('target.bin')).equals(DATA));
    symlinkSync(file('nothing-here'), file('dangling.bin'));
    oneLineError(await get(['--output', file('dangling.bin')]), 3, /is a symlink to nothing/);
    assert.deepEqual(leftovers('dangling'), []);
  });

  test('a partial file left by a killed get is removed by the next get into that file, if its process is gone and it was this host\'s', async () => {
    const host = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    const dead = execFileSync('sh', ['-c', 'echo $$']).toString().trim();
    const names = {
      killed: `out.bin.s3duct-partial-${host}-${dead}-0123abcd`,
      running: `out.bin.s3duct-partial-${host}-${process.pid}-0123abcd`,
      otherHost: `out.bin.s3duct-partial-elsewhere.example-${dead}-0123abcd`,
      otherFile: `other.bin.s3duct-partial-${host}-${dead}-0123abcd`,
    };
    for (const n of Object.values(names)) writeFileSync(file(n), 'plaintext');
    const r = await get(['--output', file('out.bin')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`removed ${names.killed.replace(/\./g, '\\.')}, the partial file of an earlier restore that was killed`));
    assert.ok(readFileSync(file('out.bin')).equals(DATA));
    assert.deepEqual(leftovers('out.bin').sort(), [names.otherHost, names.running].sort());
    assert.deepEqual(leftovers('other.bin'), [names.otherFile]);
    for (const n of Object.values(names)) rmSync(file(n), { force: true });
  });

  test('--output to a device (/dev/null) succeeds: written in place, no fsync', async () => {
    const r = await get(['--output', '/dev/null']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lstatSync('/dev/null').isCharacterDevice());
  });

  test('--output naming a directory, a missing directory or nothing: exit 3 before any download', async () => {
    mkdirSync(file('adir'));
    oneLineError(await get(['--output', file('adir')]), 3, /is a directory/);
    oneLineError(await get(['--output', file('no/such/dir/out')]), 3, /cannot create --output .*: no such directory/);
    oneLineError(await get(['--output', '']), 3, /--output needs a file name/);
  });

  test('a file that says it is empty but is not (/proc) is read to its end, as a FILE and on stdin', async () => {
    const expected = readFileSync('/proc/version');
    assert.ok(expected.length > 0);
    for (const [name, args, stdinFd] of [
      ['proc-arg', ['/proc/version'], undefined],
      ['proc-stdin', [], openSync('/proc/version', 'r')],
    ] as const) {
      const put = await runCli(['put', ...base, '--name', name, ...KEY, ...args], { stdinFd });
      if (stdinFd !== undefined) closeSync(stdinFd);
      assert.equal(put.code, 0, put.stderr);
      const r = await runCli(['get', ...base, '--name', name, ...KEY]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.equals(expected), `${name}: restored ${r.stdout.length} bytes, expected ${expected.length}`);
    }
  });

  test('stdin redirected from a directory is a usage error, not an empty backup', async () => {
    mkdirSync(file('indir'));
    const fd = openSync(file('indir'), 'r');
    const r = await runCli(['put', ...base, '--name', 'fromdir', ...KEY], { stdinFd: fd });
    closeSync(fd);
    oneLineError(r, 3, /standard input is a directory/);
    assert.equal(existsSync(path.join(storeDir, 'fromdir')), false);
  });

  test('get --no-decrypt refuses a stream with a chunk missing (exit 5) instead of skipping it', async () => {
    const put = await runCli(['put', ...base, '--name', 'raw', '--chunk-size', String(CHUNK), ...KEY], { input: DATA });
    assert.equal(put.code, 0, put.stderr);
    const whole = await runCli(['get', ...base, '--name', 'raw', '--no-decrypt']);
    assert.equal(whole.code, 0, whole.stderr);
    rmSync(path.join(storeDir, 'raw', 'chunks', '00000002'));
    const out = file('raw.out');
    oneLineError(await runCli(['get', ...base, '--name', 'raw', '--no-decrypt', '--output', out]), 5, /chunk 2 is missing/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(leftovers('raw.out'), []);
  });

  test('an age identity given as a recipient is named as such and never echoed', async () => {
    const identity = execFileSync('age-keygen').toString().split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    const r = await runCli(['put', ...base, '--name', 'x', '--age-recipient', identity], { input: 'x' });
    oneLineError(r, 3, /this is an age identity \(a secret key\), not a recipient/);
    assert.doesNotMatch(r.stderr, /AGE-SECRET-KEY-1/);
    const typo = await runCli(['put', ...base, '--name', 'x', '--age-recipient', 'hunter2'], { input: 'x' });
    oneLineError(typo, 3, /not a valid age recipient/);
    assert.doesNotMatch(typo.stderr, /hunter2/);
  });

  test('-q silences the text summary of put and get (a --summary json asked for still prints)', async () => {
    const args = ['--store', `file:${storeDir}`, '--name', 'quiet', ...KEY];
    const put = await runCli(['-q', 'put', ...args], { input: 'q' });
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stderr, '');
    const got = await runCli(['-q', 'get', ...args]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stderr, '');
    const json = await runCli(['-q', 'get', ...args, '--summary', 'json']);
    assert.equal(JSON.parse(json.stderr).command, 'get');
  });

  test('list shows age streams (details with --age-identity) and streams whose manifest is damaged', async () => {
    const dir = file('liststore');
    const store = ['--store', `file:${dir}`];
    execFileSync('age-keygen', ['-o', file('list-key.txt')], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', file('list-key.txt')]).toString().trim();
    for (const [name, enc] of [['age', ['--age-recipient', recipient]], ['aes', KEY], ['aes-damaged', KEY], ['plain-damaged', ['--no-encrypt']]] as const) {
      const r = await runCli(['put', ...store, '--name', name, '--summary', 'none', ...enc], { input: 'data' });
      assert.equal(r.code, 0, r.stderr);
    }
    const flip = (name: string, at: number) => {
      const f = path.join(dir, name, 'manifest');
      const b = readFileSync(f);
      b[at]! ^= 0xff;
      writeFileSync(f, b);
    };
    flip('aes-damaged', 100);
    flip('plain-damaged', 0);
    const rows = async (extra: string[]) => {
      const r = await runCli(['list', ...store, '--json', ...extra]);
      assert.equal(r.code, 0, r.stderr);
      return Object.fromEntries((JSON.parse(r.stdout.toString()) as Array<{ name: string; encryption: string; note?: string; size?: number }>).map((x) => [x.name, x]));
    };
    const withKey = await rows(KEY);
    assert.deepEqual(Object.keys(withKey).sort(), ['aes', 'aes-damaged', 'age', 'plain-damaged']);
    assert.equal(withKey['aes']!.size, 4);
    assert.equal(withKey['aes-damaged']!.note, 'damaged manifest');
    assert.equal(withKey['plain-damaged']!.note, 'damaged manifest');
    assert.match(withKey['age']!.note!, /give --age-identity/);
    const withIdentity = await rows(['--age-identity', file('list-key.txt')]);
    assert.equal(withIdentity['age']!.encryption, 'age');
    assert.equal(withIdentity['age']!.size, 4);
  });

  test('mistakes in the store, names and options: one line each, with their exit codes', async () => {
    oneLineError(await runCli(['list', '--store', `file:${file('no-store-here')}`]), 5, /no such directory/);
    writeFileSync(file('plainfile'), 'x');
    oneLineError(await runCli(['list', '--store', `file:${file('plainfile')}`]), 3, /is not a directory/);
    oneLineError(await runCli(['put', ...base, '--name', 'a'.repeat(300), ...KEY], { input: 'x' }), 3, /longer than 255 characters/);
    oneLineError(await runCli(['put', ...base, '--name', 'bad\nname', ...KEY], { input: 'x' }), 3, /invalid stream name "bad\\nname"/);
    oneLineError(await runCli(['put', '--bogus']), 3, /unknown option '--bogus'/);
    oneLineError(await runCli(['put', ...base, '--name', 'x', '--summary', 'xml']), 3, /argument 'xml' is invalid/);
    oneLineError(await runCli(['put', ...base, '--name', 'x', ...KEY], { input: 'x', env: { S3DUCT_STATE_DIR: file('plainfile') } }), 1, /cannot use the state directory/);
    // A stream is looked for under the prefix, so the message says where it looked.
    const where = `file:${storeDir}/team/a`;
    oneLineError(await runCli(['get', ...base, '--prefix', 'team/a/', '--name', 's', ...KEY]), 5, new RegExp(`no stream "s" at ${where.replace(/[/.]/g, '\\$&')}$`, 'm'));
  });

  test('S3 settings and tags a store would refuse are usage errors before any request (never "run again to resume")', async () => {
    const s3 = (extra: string[]) => runCli(['put', '--bucket', 'bkt', '--name', 'x', ...KEY, ...extra], { input: 'x' });
    oneLineError(await s3(['--endpoint-url', 'not a url']), 3, /--endpoint-url must be a URL/);
    oneLineError(await s3(['--endpoint-url', 'ftp://127.0.0.1:1']), 3, /must start with http/);
    const secret = await s3(['--endpoint-url', 'http://user:s3cr3t@127.0.0.1:1']);
    oneLineError(secret, 3, /must not contain a user name or password/);
    assert.doesNotMatch(secret.stderr, /s3cr3t/);
    oneLineError(await s3(['--region', 'bad region!']), 3, /--region must be a region name/);
    oneLineError(await s3(['--part-size', '5G']), 3, /--part-size must be between 5M .* and 4G/);
    oneLineError(await s3(['--tag', 'k=a,b']), 3, /invalid --tag "k=a,b": S3 allows letters/);
    oneLineError(await s3(['--tag', 'k=1', '--tag', 'k=2']), 3, /the key "k" is given twice/);
    oneLineError(await s3(Array.from({ length: 11 }, (_, i) => ['--tag', `k${i}=v`]).flat()), 3, /at most 10 --tag options/);
    oneLineError(await s3(['--tag', `k=${'v'.repeat(257)}`]), 3, /values of up to 256 characters/);
  });
});
