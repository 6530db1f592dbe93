import { createReadStream, fstatSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { usageError } from '../errors.js';
import type { SourceInfo } from '../format/manifest.js';

export interface InputSource {
  readonly data: AsyncIterable<Buffer>;
  readonly info: SourceInfo;
  /** Known up front for regular files: used for progress and a changed-while-read check. */
  readonly expectedSize?: number;
}

const READ_BUFFER = 1 << 20;

/** stdin, or the file named on the command line. */
export async function openInput(file: string | undefined): Promise<InputSource> {
  if (file === undefined || file === '-') {
    let expectedSize: number | undefined;
    try {
      const st = fstatSync(0);
      if (st.isFile()) expectedSize = st.size; // `s3duct put < file`: same size check as a path
    } catch {
      /* stdin closed: read() reports end of input */
    }
    return { data: process.stdin as AsyncIterable<Buffer>, info: { kind: 'stdin' }, expectedSize };
  }
  let st;
  try {
    st = await fs.stat(file);
  } catch (e: any) {
    throw usageError(`cannot read ${file}: ${e?.code === 'ENOENT' ? 'no such file' : e?.code ?? e?.message}`);
  }
  if (st.isDirectory()) throw usageError(`${file} is a directory: archive it first, e.g. tar c ${file} | s3duct put --name …`);
  const data = createReadStream(file, { highWaterMark: READ_BUFFER }) as AsyncIterable<Buffer>;
  const fileName = path.basename(file);
  if (st.isBlockDevice()) {
    const size = await blockDeviceSize(file);
    return { data, info: { kind: 'device', fileName, ...(size !== undefined ? { size } : {}) }, expectedSize: size };
  }
  if (!st.isFile()) return { data, info: { kind: 'file', fileName } }; // a fifo or character device: size unknown
  return {
    data,
    info: { kind: 'file', fileName, size: st.size, mtime: st.mtime.toISOString() },
    expectedSize: st.size,
  };
}

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
