import { createReadStream, fstatSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { usageError } from '../errors.js';
import type { SourceInfo } from '../format/manifest.js';
import { ByteReader } from '../pipeline/byte-reader.js';
import { PositionalInput, type ChunkInput } from '../pipeline/chunk-input.js';

export interface InputSource {
  readonly reader: ChunkInput;
  readonly info: SourceInfo;
  /** Known up front for regular files: used for progress and a changed-while-read check. */
  readonly expectedSize?: number;
  /** Stops reading (a signal): reads in progress and later ones fail with `error`. */
  stop(error: unknown): void;
  /** The input's size now, where it has one: a file read at offsets may have grown meanwhile. */
  sizeNow(): Promise<number | undefined>;
}

function streamed(data: AsyncIterable<Buffer> & { destroy?(e: unknown): void }, info: SourceInfo, expectedSize?: number): InputSource {
  return { reader: new ByteReader(data), info, expectedSize, stop: (e) => data.destroy?.(e), sizeNow: async () => undefined };
}

/** A file or device of known size, read at offsets (several chunks at once). */
function positional(file: string, size: number, info: SourceInfo, device: boolean): InputSource {
  const reader = new PositionalInput(file, size);
  const sizeNow = async () => (device ? blockDeviceSize(file) : (await fs.stat(file)).size);
  return { reader, info, expectedSize: size, stop: (e) => reader.stop(e), sizeNow };
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
    return streamed(process.stdin, { kind: 'stdin' }, expectedSize);
  }
  let st;
  try {
    st = await fs.stat(file);
  } catch (e: any) {
    throw usageError(`cannot read ${file}: ${e?.code === 'ENOENT' ? 'no such file' : e?.code ?? e?.message}`);
  }
  if (st.isDirectory()) throw usageError(`${file} is a directory: archive it first, e.g. tar c ${file} | s3duct put --name …`);
  const data = () => createReadStream(file, { highWaterMark: READ_BUFFER });
  const fileName = path.basename(file);
  if (st.isBlockDevice()) {
    const size = await blockDeviceSize(file);
    if (size === undefined) return streamed(data(), { kind: 'device', fileName });
    return positional(file, size, { kind: 'device', fileName, size }, true);
  }
  if (!st.isFile()) return streamed(data(), { kind: 'file', fileName }); // a fifo or character device: size unknown
  return positional(file, st.size, { kind: 'file', fileName, size: st.size, mtime: st.mtime.toISOString() }, false);
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
