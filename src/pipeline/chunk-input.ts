import { read } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ByteReader } from './byte-reader.js';

const readAt = promisify(read);

/** What a range reads through: a file opened for it, or a descriptor we were given. */
interface ReadHandle {
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

function descriptorHandle(fd: number): ReadHandle {
  return { read: (into, offset, length, position) => readAt(fd, into, offset, length, position), close: async () => {} };
}

/** One chunk's bytes, read into the caller's buffers (read-ahead slabs). */
export interface RangeReader {
  /** Fills `into` from where the last read ended; returns the filled part, which is shorter
   *  only where the range or the input ends. */
  readInto(into: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * A put's input whose size is known and whose bytes can be read at any offset (a regular file
 * or a block device). Each chunk reads its own byte range, so several chunks are read, hashed
 * and encoded at once on different cores without holding a chunk's worth of plaintext; a
 * sequential input (a pipe) can only be cut chunk after chunk. Reads go straight into the
 * caller's slabs: no intermediate buffer to copy from and later collect.
 */
export class PositionalInput {
  private stopped: { error: unknown } | undefined;

  constructor(
    /** A path, or a descriptor (stdin redirected from a file) read without moving its offset. */
    readonly file: string | number,
    readonly size: number,
    /** Where the input starts in the file: stdin's offset when it was handed over. */
    readonly base = 0,
  ) {}

  /** Bytes [start, end) of the input. */
  range(start: number, end: number): RangeReader {
    this.throwIfStopped();
    let position = start;
    let handle: Promise<ReadHandle> | undefined;
    return {
      readInto: async (into) => {
        const want = Math.min(into.length, end - position);
        if (want <= 0) return into.subarray(0, 0);
        const file = this.file;
        const fh = await (handle ??= typeof file === 'number' ? Promise.resolve(descriptorHandle(file)) : open(file, 'r'));
        let n = 0;
        while (n < want) {
          this.throwIfStopped();
          const { bytesRead } = await fh.read(into, n, want - n, this.base + position + n);
          if (!bytesRead) break;
          n += bytesRead;
        }
        position += n;
        return into.subarray(0, n);
      },
      close: async () => {
        if (handle) await (await handle).close();
      },
    };
  }

  /** Stops every range being read and every later one (a signal: stop reading input). */
  stop(error: unknown): void {
    this.stopped ??= { error };
  }

  private throwIfStopped(): void {
    if (this.stopped) throw this.stopped.error;
  }
}

/** What putStream reads: a stream cut chunk after chunk, or an input read at offsets. */
export type ChunkInput = ByteReader | PositionalInput;
