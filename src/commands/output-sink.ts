import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { failure } from '../errors.js';
import type { Sink } from '../pipeline/get-stream.js';

export interface OutputTarget {
  readonly sink: Sink;
  /** Makes the output final (renames a file into place). Only called after full verification. */
  commit(): Promise<void>;
  /** Removes what was written, so a failed restore is never mistaken for a complete one. */
  discard(): Promise<void>;
}

/** stdout, or a file written under a temporary name and renamed once verified. */
export async function openOutput(file: string | undefined): Promise<OutputTarget> {
  if (file === undefined || file === '-') return stdoutTarget();
  const st = await fs.stat(file).catch(() => null);
  if (st && !st.isFile()) {
    // A device (or fifo) is written in place: there is no rename for it.
    const fh = await fs.open(file, 'r+');
    return {
      sink: { write: async (b) => void (await fh.write(b)) },
      commit: async () => {
        await fh.sync();
        await fh.close();
      },
      discard: async () => void (await fh.close().catch(() => {})),
    };
  }
  const tmp = `${file}.s3duct-partial-${randomBytes(4).toString('hex')}`;
  const fh = await fs.open(tmp, 'wx', 0o600);
  return {
    sink: { write: async (b) => void (await fh.write(b)) },
    async commit() {
      await fh.sync();
      await fh.close();
      await fs.rename(tmp, file);
    },
    async discard() {
      await fh.close().catch(() => {});
      await fs.rm(tmp, { force: true });
    },
  };
}

function stdoutTarget(): OutputTarget {
  let broken: Error | undefined;
  process.stdout.on('error', (e) => (broken = e));
  const write = (b: Buffer) =>
    new Promise<void>((resolve, reject) => {
      if (broken) return reject(failure(`cannot write to standard output: ${(broken as any).code ?? broken.message}`));
      // Resolve on the callback, not on write()'s return value: only then has the stream
      // let go of `b`, which the pipeline reuses (see Sink).
      process.stdout.write(b, (err) => {
        if (err) reject(failure(`cannot write to standard output: ${(err as any).code ?? err.message}`));
        else resolve();
      });
    });
  return {
    sink: { write },
    commit: () => new Promise<void>((resolve) => process.stdout.write('', () => resolve())),
    discard: async () => {},
  };
}
