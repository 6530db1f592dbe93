import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import argon2 from 'argon2';
import { KEY_HEX, REPO, tempDir, testBytes } from '../helpers/cli.js';

/** Builds a single executable with scripts/build-binary.mjs, then copies it alone into an
 *  empty directory: no node_modules, no dist beside it or above it. */
function buildAlone(work: string, name: string, extra: string[] = []): string {
  const built = path.join(work, 'build', name);
  execFileSync(process.execPath, [path.join(REPO, 'scripts', 'build-binary.mjs'), '--out', built, ...extra], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  const alone = path.join(work, `alone-${name}`);
  mkdirSync(alone);
  copyFileSync(built, path.join(alone, name));
  execFileSync('chmod', ['755', path.join(alone, name)]);
  assert.deepEqual(readdirSync(alone), [name]);
  return path.join(alone, name);
}

describe('single executable (npm run build:binary)', () => {
  const work = tempDir('sea');
  after(() => work.cleanup());

  test('runs --help, and put/get/verify round trips through a local store, with nothing beside it', () => {
    const bin = buildAlone(work.dir, 's3duct');
    const cwd = path.dirname(bin);
    const env = { PATH: '/usr/bin:/bin', HOME: cwd, S3DUCT_STATE_DIR: path.join(cwd, 'state'), S3DUCT_KEY: `hex:${KEY_HEX}` };
    const run = (args: string[], input?: Buffer) => spawnSync(bin, args, { cwd, env, input, maxBuffer: 64 << 20 });

    const help = run(['--help']);
    assert.equal(help.status, 0, help.stderr.toString());
    assert.match(help.stdout.toString(), /Usage: s3duct/);
    for (const c of ['put', 'get', 'verify', 'delete']) assert.match(help.stdout.toString(), new RegExp(`\\n  ${c}\\b`));
    assert.match(help.stdout.toString(), /Exit codes:/);

    const data = testBytes(3 * 1024 * 1024 + 17, 5);
    const store = ['--store', 'file:store', '--name', 'sea/trip', '--summary', 'none'];
    const put = run(['put', ...store, '--chunk-size', '1M'], data);
    assert.equal(put.status, 0, put.stderr.toString());
    const get = run(['get', ...store]);
    assert.equal(get.status, 0, get.stderr.toString());
    assert.ok(get.stdout.equals(data), 'restored bytes differ');
    const verify = run(['verify', '--store', 'file:store', '--name', 'sea/trip']);
    assert.equal(verify.status, 0, verify.stderr.toString());
    const wrong = run(['get', ...store, '--key', `hex:${'0'.repeat(64)}`]);
    assert.equal(wrong.status, 8);
    assert.equal(wrong.stderr.toString().trim().split('\n').length, 1);
    // A password profile: argon2 (the embedded native addon) derives the key inside the binary.
    const prof = { ...env, S3DUCT_KEY: undefined, XDG_CONFIG_HOME: path.join(cwd, 'cfg'), PW: 'correct horse' };
    const runP = (args: string[], input?: Buffer) => spawnSync(bin, [...args, '--password-env', 'PW'], { cwd, env: prof, input, maxBuffer: 64 << 20 });
    const init = runP(['init', '--store', 'file:pstore']);
    assert.equal(init.status, 0, init.stderr.toString());
    const pput = runP(['put', '--name', 'p/one', '--summary', 'none'], data);
    assert.equal(pput.status, 0, pput.stderr.toString());
    const pget = runP(['get', 'p/one', '--summary', 'none']);
    assert.equal(pget.status, 0, pget.stderr.toString());
    assert.ok(pget.stdout.equals(data), 'restored bytes differ (profile)');
    const badPw = spawnSync(bin, ['get', 'p/one', '--password-env', 'PW'], { cwd, env: { ...prof, PW: 'wrong' } });
    assert.equal(badPw.status, 8, badPw.stderr.toString());
  });

  test('the embedded argon2 addon loads from a private temporary file that is removed', async () => {
    const bin = buildAlone(work.dir, 'argon2-check', ['--entry', path.join(REPO, 'scripts', 'sea', 'argon2-check.cjs')]);
    const tmp = path.join(work.dir, 'tmp');
    mkdirSync(tmp);
    writeFileSync(path.join(tmp, 'marker'), '');
    const r = spawnSync(bin, ['correct horse'], { cwd: path.dirname(bin), env: { PATH: '/usr/bin:/bin', TMPDIR: tmp } });
    assert.equal(r.status, 0, r.stderr.toString());
    const expected = await argon2.hash('correct horse', { type: argon2.argon2id, raw: true, hashLength: 32, salt: Buffer.alloc(16, 1), memoryCost: 1024, timeCost: 1, parallelism: 1 });
    assert.equal(r.stdout.toString().trim(), expected.toString('hex'));
    assert.deepEqual(readdirSync(tmp), ['marker'], 'the addon copy must not outlive loading');
  });
});
