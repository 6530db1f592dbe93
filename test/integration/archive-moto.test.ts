import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { KEY_HEX, runCli, tempDir, testBytes } from '../helpers/cli.js';
import { s3Request } from '../harness/servers.js';
import { motoTarget, type Target } from '../helpers/targets.js';

const CHUNK = 64 * 1024;

/** The Deep Archive lifecycle against moto: it models archive classes, InvalidObjectState and
 *  RestoreObject (completing at once). In-progress and expired states: archive-proxy.test.ts. */
describe('archive lifecycle: moto', () => {
  let t: Target;
  let env: Record<string, string>;
  before(async () => {
    t = await motoTarget();
    env = { ...t.env, TEST_S3DUCT_KEY: KEY_HEX };
  });
  after(async () => {
    await t?.close();
  });
  const cli = (args: string[], input?: Buffer) => runCli([...args.slice(0, 1), ...t.args, ...args.slice(1)], { env, input });
  const key = ['--key', 'env:TEST_S3DUCT_KEY'];

  test('DEEP_ARCHIVE: head archived (2), get refuses with the restore command, restore, head readable (0), get round trip', async () => {
    const data = testBytes(3 * CHUNK + 100, 5);
    const put = await cli(['put', '--name', 'cold/db', '--chunk-size', String(CHUNK), '--storage-class', 'DEEP_ARCHIVE', ...key, '-q', '--summary', 'none'], data);
    assert.equal(put.code, 0, put.stderr);

    const head1 = await cli(['head', 'cold/db', ...key]);
    assert.equal(head1.code, 2, head1.stderr);
    assert.match(head1.stdout.toString(), /^archived: 4 of 4 chunks \(DEEP_ARCHIVE\) need a restore/);

    const json = await cli(['head', 'cold/db', ...key, '--json']);
    assert.equal(json.code, 2);
    const detail = JSON.parse(json.stdout.toString());
    assert.equal(detail.status, 'archived');
    assert.deepEqual(
      detail.chunks.map((c: any) => [c.index, c.state, c.storageClass]),
      [0, 1, 2, 3].map((i) => [i, 'archived', 'DEEP_ARCHIVE']),
    );

    const get1 = await cli(['get', '--name', 'cold/db', ...key]);
    assert.equal(get1.code, 2, get1.stderr);
    assert.equal(get1.stdout.length, 0, 'no byte written before failing');
    assert.match(get1.stderr, /4 of 4 chunks are archived/);
    const hint = /restore first: (s3duct restore .*?) \(or run get/.exec(get1.stderr)?.[1];
    assert.ok(hint, get1.stderr);
    assert.equal(hint, `s3duct restore cold/db --bucket ${t.bucket} --endpoint-url ${t.server!.endpoint} --key env:TEST_S3DUCT_KEY --wait`);

    const expedited = await cli(['restore', 'cold/db', ...key, '--tier', 'Expedited']);
    assert.equal(expedited.code, 3);
    assert.match(expedited.stderr, /tier Expedited is not offered for DEEP_ARCHIVE/);

    const plan = await cli(['restore', 'cold/db', ...key, '--dry-run', '--json', '--days', '3']);
    assert.equal(plan.code, 0, plan.stderr);
    const p = JSON.parse(plan.stdout.toString());
    assert.deepEqual(p.chunksToRestore, [0, 1, 2, 3]);
    assert.equal(p.tier, 'Bulk');
    assert.equal(p.byClass[0].time, 'within 48 hours');
    assert.ok(p.estimatedCost > 0);
    assert.equal((await cli(['head', 'cold/db', ...key])).code, 2, 'a dry run requests nothing');

    // The exact command get printed does the thaw.
    const run = await runCli(hint.split(' ').slice(1), { env });
    assert.equal(run.code, 0, run.stderr);
    const again = await cli(['restore', 'cold/db', ...key]);
    assert.equal(again.code, 0, `restore is idempotent: ${again.stderr}`);

    const head2 = await cli(['head', '--name', 'cold/db', ...key]);
    assert.equal(head2.code, 0, head2.stderr);
    assert.match(head2.stdout.toString(), /^restored: all 4 chunks readable until \d{4}-/);

    const get2 = await cli(['get', '--name', 'cold/db', ...key, '--summary', 'none']);
    assert.equal(get2.code, 0, get2.stderr);
    assert.ok(get2.stdout.equals(data), 'restored bytes differ');
  });

  test('an age stream in DEEP_ARCHIVE: head, the printed restore command and get all take the age identity', async () => {
    const dir = tempDir('archive-age');
    try {
      const identity = path.join(dir.dir, 'key.txt');
      execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
      const recipient = execFileSync('age-keygen', ['-y', identity]).toString().trim();
      const data = testBytes(2 * CHUNK + 3, 8);
      const put = await cli(['put', '--name', 'cold/age', '--chunk-size', String(CHUNK), '--storage-class', 'DEEP_ARCHIVE', '--age-recipient', recipient, '-q', '--summary', 'none'], data);
      assert.equal(put.code, 0, put.stderr);
      const id = ['--age-identity', identity];
      const head = await cli(['head', 'cold/age', ...id]);
      assert.equal(head.code, 2, head.stderr);
      const get = await cli(['get', 'cold/age', ...id, '--summary', 'none']);
      assert.equal(get.code, 2, get.stderr);
      const hint = /restore first: (s3duct restore .*) \(or run get with --restore\)/.exec(get.stderr)?.[1];
      assert.ok(hint?.includes(`--age-identity ${identity}`), `hint lacks the identity: ${get.stderr}`);
      const run = await runCli(hint!.split(' ').slice(1), { env });
      assert.equal(run.code, 0, run.stderr);
      const got = await cli(['get', 'cold/age', ...id, '--summary', 'none']);
      assert.equal(got.code, 0, got.stderr);
      assert.ok(got.stdout.equals(data));
      assert.equal((await cli(['delete', 'cold/age', '--yes'])).code, 0, 'the list test below counts the streams');
    } finally {
      dir.cleanup();
    }
  });

  test('get --restore requests the thaw itself and streams the data out', async () => {
    const data = testBytes(2 * CHUNK + 7, 6);
    const put = await cli(['put', '--name', 'cold/one-step', '--chunk-size', String(CHUNK), '--storage-class', 'GLACIER', '--no-encrypt', '-q', '--summary', 'none'], data);
    assert.equal(put.code, 0, put.stderr);
    const get = await cli(['get', '--name', 'cold/one-step', '--restore', '--tier', 'Standard', '--poll-interval', '1s', '--summary', 'none']);
    assert.equal(get.code, 0, get.stderr);
    assert.ok(get.stdout.equals(data), 'restored bytes differ');
    assert.match(get.stderr, /restore requested for 3 chunk\(s\)/);
    assert.match(get.stderr, /3\/3 chunks readable/);
  });

  test('GLACIER_IR is readable at once and never restored', async () => {
    const data = testBytes(CHUNK + 1, 7);
    const put = await cli(['put', '--name', 'ir/x', '--chunk-size', String(CHUNK), '--storage-class', 'GLACIER_IR', '--no-encrypt', '-q', '--summary', 'none'], data);
    assert.equal(put.code, 0, put.stderr);
    const head = await cli(['head', 'ir/x']);
    assert.equal(head.code, 0, head.stderr);
    assert.match(head.stdout.toString(), /^readable: all 2 chunks readable now \(GLACIER_IR\)/);
    const restore = await cli(['restore', 'ir/x', '--wait', '--poll-interval', '1s']);
    assert.equal(restore.code, 0, restore.stderr);
    assert.doesNotMatch(restore.stderr, /restore requested/);
    const get = await cli(['get', '--name', 'ir/x', '--summary', 'none']);
    assert.equal(get.code, 0, get.stderr);
    assert.ok(get.stdout.equals(data));
  });

  test('list: streams with size, class and archive status; other data in the bucket is skipped', async () => {
    for (const [k, body] of [
      ['other/data.bin', 'x'],
      ['junk/manifest', 'not ours'],
      ['logs/chunks/00000000', 'someone else\'s chunks folder'],
    ])
      assert.equal((await s3Request(t.server!, 'PUT', `/${t.bucket}/${k}`, { body })).status, 200);
    const res = await cli(['list', '--json', ...key]);
    assert.equal(res.code, 0, res.stderr);
    const rows = JSON.parse(res.stdout.toString());
    assert.deepEqual(rows.map((r: any) => r.name), ['cold/db', 'cold/one-step', 'ir/x']);
    const byName = Object.fromEntries(rows.map((r: any) => [r.name, r]));
    assert.equal(byName['ir/x'].storageClass, 'GLACIER_IR');
    assert.equal(byName['ir/x'].status, 'readable');
    assert.equal(byName['cold/db'].encryption, 'aes-256-gcm');
    assert.equal(byName['cold/db'].status, 'restored');
    assert.equal(byName['cold/db'].chunks, 4);
    const table = await cli(['list', ...key]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.toString().trimEnd().split('\n');
    assert.match(lines[0]!, /^NAME\s+SIZE\s+CHUNKS\s+CREATED\s+CLASS\s+STATUS\s+ENCRYPTION$/);
    const col = lines[0]!.indexOf('STATUS');
    for (const l of lines.slice(1)) assert.match(l.slice(col), /^(readable|restored|archived|restoring)\b/, 'columns align');
  });

  test('list pages through a folder holding more than 1,000 entries', async () => {
    const names = Array.from({ length: 1001 }, (_, i) => `crowd/obj-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 16)
      await Promise.all(names.slice(i, i + 16).map(async (k) => assert.equal((await s3Request(t.server!, 'PUT', `/${t.bucket}/${k}`, { body: 'x' })).status, 200)));
    // "crowd/s/" sorts after the 1,001 objects: only the second page of the listing has it.
    const put = await cli(['put', '--name', 'crowd/s', '--no-encrypt', '-q', '--summary', 'none'], Buffer.from('hi'));
    assert.equal(put.code, 0, put.stderr);
    const res = await cli(['list', '--json', '--prefix', 'crowd']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout.toString()).map((r: any) => [r.name, r.path]), [['crowd/s', 's']]);
  });
});
