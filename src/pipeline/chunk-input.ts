import { open, type FileHandle } from 'node:fs/promises';
import { ByteReader } from './byte-reader.js';

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
    readonly file: string,
    readonly size: number,
  ) {}

  /** Bytes [start, end) of the input. */
  range(start: number, end: number): RangeReader {
    this.throwIfStopped();
    let position = start;
    let handle: Promise<FileHandle> | undefined;
    return {
      readInto: async (into) => {
        const want = Math.min(into.length, end - position);
        if (want <= 0) return into.subarray(0, 0);
        const fh = await (handle ??= open(this.file, 'r'));
        let n = 0;
        while (n < want) {
          this.throwIfStopped();
          const { bytesRead } = await fh.read(into, n, want - n, position + n);
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
