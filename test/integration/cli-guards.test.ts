import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { BIN, KEY_HEX, expectOneLine, runCli, tempDir, testBytes } from '../helpers/cli.js';

const DATA = testBytes(100_000, 7);


/** Mistakes a careful tool catches before it does anything: each is one line and its exit code. */
describe('guards on the command line (local store)', () => {
  const tmp = tempDir('guards');
  const store = ['--store', `file:${path.join(tmp.dir, 'store')}`];
  const env = { S3DUCT_STATE_DIR: path.join(tmp.dir, 'state') };
  after(() => tmp.cleanup());

  test('a terminal is neither read as put\'s input nor written with get\'s output', () => {
    const inTty = (cmd: string) => spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, ...env }, timeout: 30_000 });
    const put = inTty(`${process.execPath} ${BIN} put ${store.join(' ')} --name t --no-encrypt`);
    assert.equal(put.status, 3, put.stdout.toString());
    assert.match(put.stdout.toString(), /standard input, which is a terminal: pipe it in/);
    assert.equal(spawnSync(process.execPath, [BIN, 'put', ...store, '--name', 't', '--no-encrypt', '--summary', 'none'], { input: DATA, env: { ...process.env, ...env } }).status, 0);
    const get = inTty(`${process.execPath} ${BIN} get ${store.join(' ')} --name t`);
    assert.equal(get.status, 3, get.stdout.toString());
    assert.match(get.stdout.toString(), /refusing to write the restored data to a terminal/);
  });

  test('bucket names hold no credentials or prefix; a chunk needing more than 10,000 parts is refused up front', async () => {
    const r = await runCli(['list', '--store', 's3://user:secret@bucket'], { env });
    expectOneLine(r, 3, /credentials never go into the store name/);
    assert.doesNotMatch(r.stderr, /secret/);
    expectOneLine(await runCli(['list', '--bucket', 'bucket/dir'], { env }), 3, /a bucket name has no "\/": give the rest with --prefix/);
    // Checked before any request (nothing listens on port 9); a local store has no parts.
    const s3 = ['--bucket', 'test-bucket', '--endpoint-url', 'http://127.0.0.1:9'];
    const fakeCredentials = { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1' };
    expectOneLine(await runCli(['put', ...s3, '--name', 'big', '--no-encrypt', '--chunk-size', '200G'], { input: DATA, env: { ...env, ...fakeCredentials } }), 3, /needs more than 10000 parts/);
    const local = await runCli(['put', ...store, '--name', 'big', '--no-encrypt', '--chunk-size', '200G', '--summary', 'none'], { input: DATA, env });
    assert.equal(local.code, 0, local.stderr);
  });

  test('a key file others can read is warned about; the environment yields to the command line', async () => {
    const keyFile = path.join(tmp.dir, 'key.hex');
    writeFileSync(keyFile, KEY_HEX, { mode: 0o644 });
    const r = await runCli(['put', ...store, '--name', 'k', '--key', `file:${keyFile}`, '--summary', 'none'], { input: DATA, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /WARNING: key file .* can be read by other users \(mode 0644\); run: chmod 600/);
    // S3DUCT_KEY set for the shell, --no-encrypt for this one put: the flag wins.
    const plain = await runCli(['put', ...store, '--name', 'p', '--no-encrypt', '--summary', 'none'], { input: DATA, env: { ...env, S3DUCT_KEY: `hex:${KEY_HEX}` } });
    assert.equal(plain.code, 0, plain.stderr);
    // S3DUCT_STORE set, --bucket given: the flag wins (and fails on its own terms, not as a contradiction).
    const flagged = await runCli(['list', '--bucket', 'x'], { env: { ...env, S3DUCT_STORE: 'file:/nonexistent', AWS_ACCESS_KEY_ID: '', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', S3DUCT_RETRIES: '0' } });
    assert.doesNotMatch(flagged.stderr, /not both/);
    assert.match(flagged.stderr, /invalid bucket name/); // --bucket x was used, S3DUCT_STORE dropped
  });

  test('a hex key on the command line is masked in the process list while the command runs', async () => {
    const child = spawn(process.execPath, [BIN, 'put', ...store, '--name', 'masked', '--key', `hex:${KEY_HEX}`], { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.write(DATA.subarray(0, 10));
    let cmdline = '';
    for (let i = 0; i < 100 && !cmdline.includes('hex:…'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    }
    child.stdin.end();
    await new Promise((r) => child.on('close', r));
    assert.match(cmdline, /--key hex:…/);
    assert.ok(!cmdline.includes(KEY_HEX), `the key is visible: ${cmdline}`);
  });
});
