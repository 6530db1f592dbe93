import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/**
 * A block device's size without an ioctl (Node has none): stat reports 0 for devices, but
 * Linux publishes the size in 512-byte sectors under /sys/class/block/<device>/size whatever
 * the device's own sector size. Undefined elsewhere: the device is then read to its end
 * without a size for progress.
 */
export async function blockDeviceSize(file: string): Promise<number | undefined> {
  try {
    const dev = path.basename(await fs.realpath(file));
    const sectors = Number((await fs.readFile(`/sys/class/block/${dev}/size`, 'utf8')).trim());
    return Number.isSafeInteger(sectors) ? sectors * 512 : undefined;
  } catch {
    return undefined;
  }
}
