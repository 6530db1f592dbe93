import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { journalChunks } from '../helpers/journal.js';
import { ageRecipientIds } from '../../src/crypto/age-keys.js';
import { codecForPut } from '../../src/crypto/stream-codec.js';
import { BIN, KEY_HEX, OTHER_KEY_HEX, runCli, tempDir, testBytes } from '../helpers/cli.js';

const CHUNK = 64 * 1024;
const DATA = testBytes(5 * CHUNK + 333, 91); // 6 chunks
const PW = 'correct horse battery staple';

describe('resuming an interrupted age put (local store)', () => {
  const tmp = tempDir('age-resume');
  const storeDir = path.join(tmp.dir, 'store');
  const base = ['--store', `file:${storeDir}`, '--summary', 'none'];
  const putArgs = (name: string) => ['put', ...base, '--name', name, '--chunk-size', String(CHUNK)];
  const file = (name: string) => path.join(tmp.dir, name);
  let n = 0;
  let key: string;
  let recipient: string;
  let otherRecipient: string;
  after(() => tmp.cleanup());
  before(() => {
    key = file('key.txt');
    execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
    recipient = execFileSync('age-keygen', ['-y', key]).toString().trim();
    execFileSync('age-keygen', ['-o', file('other.txt')], { stdio: 'ignore' });
    otherRecipient = execFileSync('age-keygen', ['-y', file('other.txt')]).toString().trim();
  });

  /** A put whose resume state lives in its own directory, so each test sees only its own journal. */
  function stream(ageArgs: string[], env: Record<string, string> = {}) {
    const name = `r${n++}`;
    const state = file(`state-${name}`);
    const put = (extra: string[] = [], more: Record<string, string> = {}, stateDir = state) =>
      runCli([...putArgs(name), ...ageArgs, ...extra], { input: DATA, env: { S3DUCT_STATE_DIR: stateDir, ...env, ...more } });
    const get = (extra: string[] = []) => runCli(['get', ...base, '--name', name, '--age-identity', key, ...extra], { env: { S3DUCT_STATE_DIR: state, ...env } });
    const chunk = (i: number) => path.join(storeDir, name, 'chunks', String(i).padStart(8, '0'));
    const inode = (i: number) => statSync(chunk(i)).ino;
    return { name, state, put, get, chunk, inode, resumeObject: path.join(storeDir, name, 'resume') };
  }

  async function crash(s: ReturnType<typeof stream>, at = 'after-journal:2') {
    const r = await s.put([], { S3DUCT_TEST_CRASH: at });
    assert.equal(r.code, -1, `expected SIGKILL, got ${r.code}: ${r.stderr}`);
  }

  /** A put interrupted by SIGINT after two chunks, which leaves the store copy of its journal. */
  async function interrupt(args: string[], stateDir: string, env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, S3DUCT_STATE_DIR: stateDir, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdin.on('error', () => {});
    const closed = new Promise((r) => child.on('close', r));
    child.stdin.write(DATA.subarray(0, 3 * CHUNK + 10)); // then the producer stalls
    const deadline = Date.now() + 20_000;
    while (journalChunks(stateDir) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    assert.equal(await closed, 6, err);
  }

  async function expectRestored(s: ReturnType<typeof stream>) {
    const r = await s.get();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(DATA), 'restored bytes differ');
    assert.equal(existsSync(s.resumeObject), false, 'the store copy of the journal is removed after success');
  }

  test('put --age-identity: resumes under the same file key, keeps the stored chunks, restores', async () => {
    const s = stream(['--age-identity', key]);
    await crash(s);
    const kept = [0, 1, 2].map(s.inode);
    const resumed = await s.put();
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming the interrupted put .*3 chunks already stored/);
    assert.deepEqual([0, 1, 2].map(s.inode), kept, 'a journaled chunk was uploaded again');
    // One header for the whole stream: a chunk sealed before the crash and one after share it.
    const head = (i: number) => {
      const bytes = readFileSync(s.chunk(i));
      return bytes.subarray(0, bytes.indexOf('\n', bytes.indexOf('\n--- ') + 1) + 1);
    };
    assert.ok(head(0).equals(head(5)), 'chunks before and after the crash carry different age headers');
    const last = execFileSync('/usr/bin/age', ['-d', '-i', key, s.chunk(5)]);
    assert.ok(last.equals(DATA.subarray(5 * CHUNK)), '/usr/bin/age does not open the chunk sealed after the resume');
    await expectRestored(s);
  });

  test('a passphrase put resumes with the same passphrase; another passphrase is refused (exit 7)', async () => {
    const s = stream(['--age-passphrase-env', 'PW'], { PW });
    await crash(s);
    const wrong = await s.put([], { PW: 'not it' });
    assert.equal(wrong.code, 7, wrong.stderr);
    assert.match(wrong.stderr, /interrupted put .* this put's key does not open it .*wrong passphrase.*; rerun with its key to resume it, or pass --restart/);
    assert.equal(wrong.stderr.trim().split('\n').length, 1, wrong.stderr);
    const resumed = await s.put([], { PW });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming the interrupted put/);
    const r = await runCli(['get', ...base, '--name', s.name, '--age-passphrase-env', 'PW'], { env: { PW } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(DATA));
  });

  test('a resume to other recipients is refused (exit 7), naming why', async () => {
    const s = stream(['--age-identity', key]);
    await crash(s);
    const more = await s.put(['--age-recipient', otherRecipient]);
    assert.equal(more.code, 7, more.stderr);
    assert.match(more.stderr, /it was encrypted to other age recipients/);
    const resumed = await s.put();
    assert.equal(resumed.code, 0, resumed.stderr);
    await expectRestored(s);
  });

  test('an interrupted put under --key is never discarded by an age put, nor opened by another key (exit 7)', async () => {
    const s = stream([]);
    const aes = (hex: string) => ['--key', `hex:${hex}`];
    await interrupt([...putArgs(s.name), ...aes(KEY_HEX)], file(`state-a-${s.name}`));
    const elsewhere = file(`state-b-${s.name}`);
    for (const other of [['--age-recipient', recipient], ['--age-identity', key], aes(OTHER_KEY_HEX)]) {
      const r = await s.put(other, {}, elsewhere);
      assert.equal(r.code, 7, r.stderr);
      assert.match(r.stderr, /an interrupted put of .* exists, but .*; rerun with its key to resume it, or pass --restart/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const resumed = await s.put(aes(KEY_HEX), {}, elsewhere);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming the interrupted put/);
  });

  test('put given only recipients cannot open its file key: it starts over, says how to make it resumable', async () => {
    const s = stream(['--age-recipient', recipient]);
    await crash(s);
    const again = await s.put();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /cannot be resumed: this put has only public keys.*--age-identity FILE.*starting it over/);
    assert.doesNotMatch(again.stderr, /resuming/);
    await expectRestored(s);
  });

  test('put given only recipients, killed after its manifest: the re-run knows the stream is complete', async () => {
    const s = stream(['--age-recipient', recipient]);
    await crash(s, 'after-manifest:0');
    const again = await s.put();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /had already finished: the stream is complete/);
    assert.equal(journalChunks(s.state), -1, 'journal removed');
    await expectRestored(s);
  });

  test('the store copy of the journal is an age file (hashes never in clear) that get --partial reads; another machine given public keys starts over', async () => {
    const s = stream(['--age-identity', key]);
    await interrupt([...putArgs(s.name), '--age-identity', key], file(`state-a-${s.name}`));
    const copy = readFileSync(s.resumeObject);
    assert.ok(copy.subarray(0, 22).equals(Buffer.from('age-encryption.org/v1\n')), 'store copy is not an age file');
    assert.equal(copy.includes(Buffer.from('s3duct-resume')), false, 'journal readable without the key');
    const opened = execFileSync('/usr/bin/age', ['-d', '-i', key, s.resumeObject]).toString();
    assert.match(opened.split('\n')[0]!, /"journal":"s3duct-resume"/);

    const partial = await s.get(['--partial']);
    assert.equal(partial.code, 0, partial.stderr);
    assert.match(partial.stderr, /PARTIAL/);
    assert.ok(DATA.subarray(0, partial.stdout.length).equals(partial.stdout) && partial.stdout.length >= 2 * CHUNK, 'partial prefix differs');

    // Public keys: anyone can seal a journal to them, so another machine does not trust the
    // store copy (a planted one could carry a file key its author knows) and starts over.
    const machineB = file(`state-b-${s.name}`);
    const again = await s.put([], {}, machineB);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /cannot be resumed: only this machine's journal of it is trusted .*; starting it over/);
    await expectRestored(s);
  });

  test('a journal planted in the store under a file key its author knows is never resumed: the data stays sealed to the real recipients only', async () => {
    const s = stream(['--age-identity', key]);
    // The attacker can write to the bucket and knows the public key, nothing more.
    execFileSync('age-keygen', ['-o', file(`attacker-${s.name}.txt`)], { stdio: 'ignore' });
    const attacker = execFileSync('age-keygen', ['-y', file(`attacker-${s.name}.txt`)]).toString().trim();
    const planted = await codecForPut({ mode: 'age', keys: { kind: 'public-key', recipients: [recipient, attacker], identities: [] } }, randomBytes(16));
    const spec = planted.chunkSpec;
    assert.equal(spec.mode, 'age');
    const header = {
      journal: 's3duct-resume', version: 1, streamId: randomBytes(16).toString('hex'), location: `file:${storeDir}`, prefix: '', name: s.name,
      chunkSize: CHUNK, encryption: 'age', keyId: ageRecipientIds({ kind: 'public-key', recipients: [recipient], identities: [] }).join(','),
      storageClass: 'STANDARD', tags: {}, createdAt: new Date().toISOString(), ageHeader: Buffer.from(spec.mode === 'age' ? spec.header : []).toString('base64'),
    };
    mkdirSync(path.dirname(s.resumeObject), { recursive: true });
    writeFileSync(s.resumeObject, planted.sealJournal(Buffer.from(JSON.stringify(header) + '\n')));

    const put = await s.put();
    assert.equal(put.code, 0, put.stderr);
    assert.doesNotMatch(put.stderr, /resuming/);
    const stolen = spawnSync('/usr/bin/age', ['-d', '-i', file(`attacker-${s.name}.txt`), s.chunk(0)]);
    assert.notEqual(stolen.status, 0, 'the attacker can read a chunk');
    await expectRestored(s);
  });

  test('with a passphrase (which a planted journal cannot be sealed under), another machine resumes from the store copy', async () => {
    const s = stream(['--age-passphrase-env', 'PW'], { PW });
    await interrupt([...putArgs(s.name), '--age-passphrase-env', 'PW'], file(`state-a-${s.name}`), { PW });
    const resumed = await s.put([], {}, file(`state-b-${s.name}`));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming the interrupted put/);
    const r = await runCli(['get', ...base, '--name', s.name, '--age-passphrase-env', 'PW'], { env: { PW } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(DATA));
  });
});
