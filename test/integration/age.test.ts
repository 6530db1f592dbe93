import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateHybridIdentity, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { KEY_HEX, runCli, tempDir, testBytes } from '../helpers/cli.js';

const CHUNK = 100 * 1024;
const DATA = testBytes(3 * CHUNK + 5000, 77);

describe('age encryption (local store)', () => {
  const tmp = tempDir('age');
  const base = ['--store', `file:${path.join(tmp.dir, 'store')}`, '--summary', 'none'];
  const file = (name: string) => path.join(tmp.dir, name);
  const chunkFile = (name: string, i: number) => path.join(tmp.dir, 'store', name, 'chunks', String(i).padStart(8, '0'));
  let n = 0;
  let x25519Key: string; // age-keygen output: comments, then the key
  let x25519Recipient: string;
  let otherKey: string;
  let pqIdentity: string;
  let pqRecipient: string;

  before(async () => {
    x25519Key = file('x25519.txt');
    execFileSync('age-keygen', ['-o', x25519Key], { stdio: 'ignore' });
    x25519Recipient = execFileSync('age-keygen', ['-y', x25519Key]).toString().trim();
    otherKey = file('other.txt');
    execFileSync('age-keygen', ['-o', otherKey], { stdio: 'ignore' });
    pqIdentity = await generateHybridIdentity();
    pqRecipient = await identityToRecipient(pqIdentity);
    writeFileSync(file('pq.txt'), `# post-quantum test identity\n# public key: ${pqRecipient.slice(0, 20)}…\n\n${pqIdentity}\n`, { mode: 0o600 });
  });
  after(() => tmp.cleanup());

  async function put(args: string[], input: Buffer = DATA, env: Record<string, string> = {}): Promise<string> {
    const name = `a${n++}`;
    const r = await runCli(['put', ...base, '--chunk-size', String(CHUNK), '--name', name, ...args], { input, env });
    assert.equal(r.code, 0, r.stderr);
    // No warning for an age-encrypted put: only the one an empty pipe always gets.
    assert.equal(r.stderr.toString().replace(/^s3duct: WARNING: the input was empty.*\n/, ''), '', 'no warning for an age-encrypted put');
    return name;
  }
  async function get(name: string, args: string[], env: Record<string, string> = {}) {
    return runCli(['get', ...base, '--name', name, ...args], { env });
  }
  async function expectRoundTrip(name: string, args: string[], expected: Buffer = DATA, env: Record<string, string> = {}) {
    const r = await get(name, args, env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(expected), 'restored bytes differ');
  }
  function expectOneLineError(r: { code: number; stderr: string }, code: number, message: RegExp) {
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one-line error expected, got: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]{8}/i, 'a secret key was printed');
  }

  test('X25519: every chunk object and the manifest decrypt with /usr/bin/age; get restores', async () => {
    const name = await put(['--age-recipient', x25519Recipient]);
    const chunks = readdirSync(path.join(tmp.dir, 'store', name, 'chunks')).sort();
    assert.equal(chunks.length, 4);
    chunks.forEach((c, i) => {
      const out = spawnSync('/usr/bin/age', ['-d', '-i', x25519Key, chunkFile(name, i)], { maxBuffer: 1 << 26 });
      assert.equal(out.status, 0, out.stderr.toString());
      assert.ok(out.stdout.equals(DATA.subarray(i * CHUNK, (i + 1) * CHUNK)), `chunk ${i} plaintext differs`);
    });
    const manifest = JSON.parse(execFileSync('/usr/bin/age', ['-d', '-i', x25519Key, path.join(tmp.dir, 'store', name, 'manifest')]).toString());
    assert.equal(manifest.encryption.mode, 'age');
    assert.deepEqual(manifest.encryption.recipients.map((r: string) => r.split(':')[0]), ['X25519']);
    await expectRoundTrip(name, ['--age-identity', x25519Key]);
  });

  test('empty input: one age chunk of 0 bytes that /usr/bin/age opens', async () => {
    const name = await put(['--age-recipient', x25519Recipient], Buffer.alloc(0));
    const out = spawnSync('/usr/bin/age', ['-d', '-i', x25519Key, chunkFile(name, 0)]);
    assert.equal(out.status, 0, out.stderr.toString());
    assert.equal(out.stdout.length, 0);
    await expectRoundTrip(name, ['--age-identity', x25519Key], Buffer.alloc(0));
  });

  test('post-quantum recipient end to end; an identity file with comments and several keys', async () => {
    const name = await put(['--age-recipient', pqRecipient]);
    await expectRoundTrip(name, ['--age-identity', file('pq.txt')]);
    const both = file('both.txt');
    writeFileSync(both, `${readFileSync(otherKey, 'utf8')}\n# and the post-quantum one\n${pqIdentity}\n`, { mode: 0o600 });
    await expectRoundTrip(name, ['--age-identity', both]);
    expectOneLineError(await get(name, ['--age-identity', otherKey]), 8, /no identity matches/);
  });

  test('put --age-identity encrypts to every key in the file; --age-recipients-file with comments', async () => {
    const multi = file('multi.txt');
    writeFileSync(multi, `${readFileSync(x25519Key, 'utf8')}\n${pqIdentity}\n`, { mode: 0o600 });
    const name = await put(['--age-identity', multi]);
    await expectRoundTrip(name, ['--age-identity', x25519Key]);
    await expectRoundTrip(name, ['--age-identity', file('pq.txt')]);

    const recipients = file('recipients.txt');
    writeFileSync(recipients, `# team\n${x25519Recipient}\n\n# archive, post-quantum\n${pqRecipient}\n`);
    const name2 = await put(['--age-recipients-file', recipients]);
    await expectRoundTrip(name2, ['--age-identity', file('pq.txt')]);
    await expectRoundTrip(name2, ['--age-identity', x25519Key]);
  });

  test('a stream for another key: "no identity matches", exit 8, no output file', async () => {
    const name = await put(['--age-recipient', x25519Recipient]);
    const out = file('wrong.out');
    expectOneLineError(await get(name, ['--age-identity', otherKey, '--output', out]), 8, /no identity matches/);
    assert.equal(existsSync(out), false);
  });

  test('passphrase (scrypt): round trip; wrong passphrase exits 8; chunks are age files', async () => {
    const name = await put(['--age-passphrase-env', 'PW'], DATA, { PW: 'correct horse battery staple' });
    await expectRoundTrip(name, ['--age-passphrase-env', 'PW'], DATA, { PW: 'correct horse battery staple' });
    expectOneLineError(await get(name, ['--age-passphrase-env', 'PW'], { PW: 'wrong' }), 8, /no identity matches.*passphrase/);
    expectOneLineError(await get(name, ['--age-identity', x25519Key]), 8, /passphrase-encrypted/);
    const head = readFileSync(chunkFile(name, 0)).subarray(0, 100).toString('latin1');
    assert.match(head, /^age-encryption\.org\/v1\n-> scrypt /);
  });

  test('missing, unreadable and invalid key files give one-line errors naming the file', async () => {
    const name = await put(['--age-recipient', x25519Recipient]);
    expectOneLineError(await get(name, ['--age-identity', file('nope.txt')]), 3, /--age-identity .*nope\.txt: cannot read identity file \(ENOENT\)/);
    expectOneLineError(await get(name, ['--age-identity', tmp.dir]), 3, /cannot read identity file \(EISDIR\)/);
    const bad = file('bad.txt');
    writeFileSync(bad, '# comment\nAGE-SECRET-KEY-1NOTAKEY\n');
    expectOneLineError(await get(name, ['--age-identity', bad]), 3, /bad\.txt line 2: not a valid age identity/);
    writeFileSync(bad, '# only comments\n\n');
    expectOneLineError(await get(name, ['--age-identity', bad]), 3, /no identitys? in the file|no identities/);
    writeFileSync(bad, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA test\n');
    expectOneLineError(await runCli(['put', ...base, '--name', 'x', '--age-recipients-file', bad], { input: 'x' }), 3, /line 1: SSH keys are not supported/);
    expectOneLineError(await runCli(['put', ...base, '--name', 'x', '--age-recipients-file', file('none.txt')], { input: 'x' }), 3, /cannot read recipient file \(ENOENT\)/);
    expectOneLineError(await runCli(['put', ...base, '--name', 'x', '--age-recipient', 'age1xyz'], { input: 'x' }), 3, /not a valid age recipient/);
    expectOneLineError(await runCli(['put', ...base, '--name', 'x', '--age-passphrase-env', 'UNSET_VAR_S3DUCT'], { input: 'x' }), 3, /UNSET_VAR_S3DUCT is not set/);
  });

  test('mixing --key or --no-encrypt with age options, or the wrong secret kind on get, is a usage error', async () => {
    const args = ['put', ...base, '--name', 'mix', '--age-recipient', x25519Recipient];
    expectOneLineError(await runCli([...args, '--key', `hex:${KEY_HEX}`], { input: 'x' }), 3, /contradict/);
    expectOneLineError(await runCli([...args, '--no-encrypt'], { input: 'x' }), 3, /contradict/);
    expectOneLineError(await runCli([...args, '--age-passphrase-env', 'PW'], { input: 'x', env: { PW: 'p' } }), 3, /cannot be combined/);
    const name = await put(['--age-recipient', x25519Recipient]);
    expectOneLineError(await get(name, ['--key', `hex:${KEY_HEX}`]), 3, /age-encrypted; give --age-identity/);
    expectOneLineError(await get(name, []), 3, /age-encrypted; give --age-identity/);
    await expectRoundTrip(name, ['--age-identity', x25519Key], DATA, { S3DUCT_KEY: `hex:${KEY_HEX}` }); // the flag wins over the environment
    const aes = `k${n++}`;
    assert.equal((await runCli(['put', ...base, '--name', aes, '--key', `hex:${KEY_HEX}`], { input: 'x' })).code, 0);
    expectOneLineError(await get(aes, ['--age-identity', x25519Key]), 3, /symmetric key; give --key/);
  });

  test('chunks swapped, or taken from another stream to the same recipient, fail by name (exit 4)', async () => {
    const name = await put(['--age-recipient', x25519Recipient]);
    const [a, b] = [chunkFile(name, 1), chunkFile(name, 2)];
    renameSync(a, a + '.x');
    renameSync(b, a);
    renameSync(a + '.x', b);
    expectOneLineError(await get(name, ['--age-identity', x25519Key]), 4, /chunk 1: object is not chunk 1 of this stream/);

    const victim = await put(['--age-recipient', x25519Recipient]);
    const forger = await put(['--age-recipient', x25519Recipient]);
    renameSync(chunkFile(forger, 0), chunkFile(victim, 0));
    expectOneLineError(await get(victim, ['--age-identity', x25519Key]), 4, /chunk 0: age header differs/);
  });

  test('a manifest replaced by another age stream\'s manifest is refused (exit 4)', async () => {
    const victim = await put(['--age-recipient', x25519Recipient]);
    const other = await put(['--age-recipient', x25519Recipient], testBytes(3 * CHUNK + 5000, 78));
    const m = (s: string) => path.join(tmp.dir, 'store', s, 'manifest');
    renameSync(m(other), m(victim));
    // The other manifest names its own stream; even renamed, its chunks' header does not match.
    expectOneLineError(await get(victim, ['--age-identity', x25519Key]), 4, /manifest is for|age header differs/);
  });

  test('X25519 identity generated by age-encryption also works from a file', async () => {
    const id = await generateX25519Identity();
    writeFileSync(file('typage.txt'), `${id}\n`, { mode: 0o600 });
    const name = await put(['--age-recipient', await identityToRecipient(id)]);
    await expectRoundTrip(name, ['--age-identity', file('typage.txt')]);
  });
});
