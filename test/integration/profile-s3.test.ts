import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { runCli, tempDir, testBytes } from '../helpers/cli.js';
import { motoTarget, type Target } from '../helpers/targets.js';
import { s3Request } from '../harness/servers.js';

const AWS_CLI = process.env.AWS_CLI ?? '/root/.pyenv/shims/aws';

/** Profile mode against moto: saved credentials, and a bucket listing that reveals no names. */
describe('profiles (moto): private names in a shared bucket', () => {
  let t: Target;
  const dir = tempDir('profile-s3');
  const profile = path.join(dir.dir, 'profile.json');
  const file = path.join(dir.dir, 'tax-return-2024.pdf');
  const data = testBytes(300_000, 9);
  // No AWS credentials in the environment of the put/get runs: they must come from the profile.
  const noCreds = { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, PW: 'pw for s3' };
  const cli = (args: string[], input?: string | Buffer) =>
    runCli([...args, '--profile', profile, '--password-env', 'PW', '--summary', 'none'], { env: { ...t.env, ...noCreds }, input });

  before(async () => {
    t = await motoTarget();
    writeFileSync(file, data);
  });
  after(async () => {
    await t?.close();
    dir.cleanup();
  });

  test('init saves the credentials (sealed); put/get then work without any in the environment', async () => {
    const init = await runCli(['init', '--profile', profile, '--bucket', t.bucket!, '--endpoint-url', t.server!.endpoint, '--prefix', 'bk', '--save-credentials', '--password-env', 'PW'], {
      // moto accepts any credentials: distinctive ones show they are not written in clear.
      env: { ...t.env, AWS_ACCESS_KEY_ID: 'AKIDPROFILETEST', AWS_SECRET_ACCESS_KEY: 'sEcReT/only-in-the-profile', PW: 'pw for s3' },
    });
    assert.equal(init.code, 0, init.stderr);
    const text = readFileSync(profile, 'utf8');
    assert.ok(!text.includes('sEcReT') && !text.includes('AKIDPROFILETEST'), 'credentials are not stored in clear');
    const put = await cli(['put', file, '--chunk-size', '100K']);
    assert.equal(put.code, 0, put.stderr);
    const diary = await cli(['put', '--name', 'alice/diary'], 'dear diary');
    assert.equal(diary.code, 0, diary.stderr);
  });

  test('other objects in the bucket are skipped when resolving a name', async () => {
    for (const key of ['bk/holiday.jpg', `bk/s3d-${'a'.repeat(26)}/manifest`, 'elsewhere/x']) {
      const r = await s3Request(t.server!, 'PUT', `/${t.bucket}/${key}`, { body: 'not ours' });
      assert.equal(r.status, 200);
    }
    const out = path.join(dir.dir, 'out');
    mkdirSync(out);
    const get = await cli(['get', 'tax-return-2024.pdf', out]);
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(readFileSync(path.join(out, 'tax-return-2024.pdf')), data);
    const diary = await cli(['get', 'alice/diary']);
    assert.equal(diary.code, 0, diary.stderr);
    assert.equal(diary.stdout.toString(), 'dear diary');
  });

  test('aws s3api list-objects shows no stream name and no file name', async () => {
    const { stdout } = await promisify(execFile)(AWS_CLI, ['s3api', 'list-objects', '--bucket', t.bucket!, '--endpoint-url', t.server!.endpoint, '--output', 'json'], {
      env: { ...process.env, ...t.env },
    });
    const keys: string[] = JSON.parse(stdout).Contents.map((o: { Key: string }) => o.Key);
    const ours = keys.filter((k) => k.startsWith('bk/s3d-') && !k.startsWith(`bk/s3d-${'a'.repeat(26)}`));
    assert.ok(ours.some((k) => k.endsWith('/manifest')) && ours.some((k) => k.includes('/chunks/')), stdout);
    for (const word of ['tax', 'return', '2024', 'pdf', 'alice', 'diary']) assert.ok(!ours.join('\n').includes(word), `"${word}" in ${ours}`);
    for (const k of ours) assert.match(k, /^bk\/s3d-[a-z2-7]{26}\/(manifest|chunks\/\d{8})$/);
  });
});
