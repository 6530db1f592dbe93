import { createReadStream } from 'node:fs';
import { ByteReader } from './byte-reader.js';

/**
 * A put's input whose size is known and whose bytes can be read at any offset (a regular file
 * or a block device). Each chunk reads its own byte range, so several chunks are read, hashed
 * and encoded at once on different cores without holding a chunk's worth of plaintext; a
 * sequential input (a pipe) can only be cut chunk after chunk.
 */
export class PositionalInput {
  private stopped: { error: unknown } | undefined;
  private readonly open = new Set<ByteReader>();

  constructor(
    readonly file: string,
    readonly size: number,
  ) {}

  /** Bytes [start, end) of the input. */
  range(start: number, end: number): ByteReader {
    if (this.stopped) throw this.stopped.error;
    const data = end > start ? createReadStream(this.file, { start, end: end - 1, highWaterMark: 1 << 20 }) : [];
    const reader = new ByteReader(data as AsyncIterable<Buffer>);
    this.open.add(reader);
    const close = reader.close.bind(reader);
    reader.close = async () => {
      this.open.delete(reader);
      await close();
    };
    return reader;
  }

  /** Stops every range being read and every later one (a signal: stop reading input). */
  stop(error: unknown): void {
    this.stopped ??= { error };
    for (const r of this.open) r.fail(error);
  }
}

/** What putStream reads: a stream cut chunk after chunk, or an input read at offsets. */
export type ChunkInput = ByteReader | PositionalInput;
