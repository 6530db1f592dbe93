import { isatty } from 'node:tty';
import { createReadStream, fstatSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { S3ductError, usageError } from '../errors.js';
import type { SourceInfo } from '../format/manifest.js';
import { blockDeviceSize } from './block-device.js';
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
function positional(reader: PositionalInput, info: SourceInfo, sizeNow: () => Promise<number | undefined>): InputSource {
  return { reader, info, expectedSize: reader.size, stop: (e) => reader.stop(e), sizeNow };
}

/**
 * stdin's offset in the file it was redirected from (`s3duct put < file`), where Linux tells
 * it: the input starts there, as it would for `cat`. Undefined elsewhere.
 */
function stdinOffset(): number | undefined {
  try {
    const pos = /^pos:\s*(\d+)/m.exec(readFileSync('/proc/self/fdinfo/0', 'utf8'))?.[1];
    return pos === undefined ? undefined : Number(pos);
  } catch {
    return undefined;
  }
}

const READ_BUFFER = 1 << 20;

/** stdin, or the file named on the command line. */
export async function openInput(file: string | undefined): Promise<InputSource> {
  if (file === undefined || file === '-') {
    // Nobody types a backup: a put left waiting on the keyboard looks hung.
    if (isatty(0)) throw usageError('put reads the data from standard input, which is a terminal: pipe it in (tar c DIR | s3duct put …) or give a FILE');
    let expectedSize: number | undefined;
    try {
      const st = fstatSync(0);
      if (st.isDirectory()) throw usageError('standard input is a directory: archive it first, e.g. tar c DIR | s3duct put --name …');
      // A file of size 0 may still have content (/proc, /sys, some FUSE files): read to its end.
      if (st.isFile() && st.size > 0) {
        // `s3duct put < file`: read at offsets like a named file, with the same size check.
        const base = stdinOffset();
        if (base !== undefined) {
          const reader = new PositionalInput(0, Math.max(0, st.size - base), base);
          return positional(reader, { kind: 'stdin' }, async () => Math.max(0, fstatSync(0).size - base));
        }
        expectedSize = st.size;
      }
      // `s3duct put < /dev/sdb`: Node's stdin reads nothing from a block device (an empty
      // backup with exit 0), so the device is read through its descriptor, from stdin's offset.
      if (st.isBlockDevice()) {
        const base = stdinOffset() ?? 0;
        const size = await blockDeviceSize('/proc/self/fd/0');
        if (size === undefined) return streamed(createReadStream('', { fd: 0, autoClose: false, start: base, highWaterMark: READ_BUFFER }), { kind: 'stdin' });
        return positional(new PositionalInput(0, Math.max(0, size - base), base), { kind: 'stdin' }, async () => {
          const now = await blockDeviceSize('/proc/self/fd/0');
          return now === undefined ? undefined : Math.max(0, now - base);
        });
      }
    } catch (e) {
      if (e instanceof S3ductError) throw e;
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
    return positional(new PositionalInput(file, size), { kind: 'device', fileName, size }, () => blockDeviceSize(file));
  }
  if (!st.isFile()) return streamed(data(), { kind: 'file', fileName }); // a fifo or character device: size unknown
  const mtime = st.mtime.toISOString();
  // Size 0 proves nothing: /proc and /sys files say 0 and have content. Read to the end.
  if (st.size === 0) return streamed(data(), { kind: 'file', fileName, mtime });
  const info: SourceInfo = { kind: 'file', fileName, size: st.size, mtime };
  return positional(new PositionalInput(file, st.size), info, async () => (await fs.stat(file)).size);
}
