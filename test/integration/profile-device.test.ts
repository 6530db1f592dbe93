import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { blockDeviceSize } from '../../src/commands/block-device.js';
import { runCli, tempDir, testBytes } from '../helpers/cli.js';

const SIZE = 20 * 1024 * 1024;

/** Attaches an image file as a loop device. Needs root and losetup: without them the test
 *  fails with the reason rather than skipping, so a device round trip is never silently untested. */
function attach(image: string): string {
  try {
    return execFileSync('losetup', ['-f', '--show', image], { encoding: 'utf8' }).trim();
  } catch (e: any) {
    throw new Error(`cannot attach a loop device (this test needs root and losetup): ${e?.stderr ?? e?.message}`);
  }
}

describe('block devices (loop devices stand in for disks)', () => {
  const t = tempDir('device');
  const devices: string[] = [];
  after(() => {
    for (const d of devices) execFileSync('losetup', ['-d', d]);
    t.cleanup();
  });
  const env = { PW: 'device pw', XDG_CONFIG_HOME: path.join(t.dir, 'cfg'), S3DUCT_PROFILE: undefined };
  const cli = (args: string[]) => runCli([...args, '--password-env', 'PW'], { env });

  test('put /dev/loopN reads the whole device with its size known; get --output /dev/loopM writes it back', async () => {
    const data = testBytes(SIZE, 3);
    const source = path.join(t.dir, 'source.img');
    const target = path.join(t.dir, 'target.img');
    writeFileSync(source, data);
    writeFileSync(target, '');
    truncateSync(target, SIZE);
    const src = attach(source);
    devices.push(src);
    const dst = attach(target);
    devices.push(dst);
    assert.ok(statSync(src).isBlockDevice());
    assert.equal(await blockDeviceSize(src), SIZE, 'size known up front, from /sys/class/block');

    const init = await cli(['init', '--store', `file:${path.join(t.dir, 'store')}`]);
    assert.equal(init.code, 0, init.stderr);
    const put = await cli(['put', src, '--chunk-size', '8M', '--summary', 'json']);
    assert.equal(put.code, 0, put.stderr);
    assert.doesNotMatch(put.stderr, /WARNING/, 'the size read matches the size known up front');
    const summary = JSON.parse(put.stderr.trim().split('\n').pop()!);
    assert.equal(summary.bytes, SIZE);
    assert.equal(summary.name, path.basename(src));

    // A disk smaller than the stream would take part of it and then fail: refused untouched.
    const small = path.join(t.dir, 'small.img');
    writeFileSync(small, '');
    truncateSync(small, SIZE / 2);
    const smallDev = attach(small);
    devices.push(smallDev);
    const tooSmall = await cli(['get', summary.id, '--output', smallDev, '--summary', 'none']);
    assert.equal(tooSmall.code, 3, tooSmall.stderr);
    assert.match(tooSmall.stderr, /holds 10485760 bytes, the stream has 20971520: nothing was written/);
    execFileSync('losetup', ['-d', devices.pop()!]);
    assert.ok(readFileSync(small).equals(Buffer.alloc(SIZE / 2)), 'the small disk was written to');

    // `put < /dev/loopN`: Node's stdin reads nothing from a block device; the put used to store
    // an empty stream and exit 0.
    const named = ['--store', `file:${path.join(t.dir, 'named')}`, '--name', 'disk', '--summary', 'none'];
    const fd = openSync(src, 'r');
    try {
      const fromStdin = await runCli(['put', ...named, '--no-encrypt'], { stdinFd: fd });
      assert.equal(fromStdin.code, 0, fromStdin.stderr);
    } finally {
      closeSync(fd);
    }
    const back = await runCli(['get', ...named]);
    assert.equal(back.code, 0, back.stderr);
    assert.ok(back.stdout.equals(data), `put < device stored ${back.stdout.length} bytes, not the device's ${SIZE}`);

    const get = await cli(['get', summary.id, '--output', dst, '--summary', 'none']);
    assert.equal(get.code, 0, get.stderr);
    execFileSync('losetup', ['-d', devices.pop()!]);
    assert.ok(readFileSync(target).equals(data), 'the device written back differs');

    // Into a directory: a device stream is restored under the device's name.
    const out = path.join(t.dir, 'out');
    mkdirSync(out);
    const toDir = await cli(['get', summary.id, out, '--summary', 'none']);
    assert.equal(toDir.code, 0, toDir.stderr);
    assert.deepEqual(readdirSync(out), [path.basename(src)]);
    assert.ok(readFileSync(path.join(out, path.basename(src))).equals(data));
  });
});
