import { isatty } from 'node:tty';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { ExitCode, failure, usageError } from '../errors.js';
import { warn } from '../ui/log.js';
import type { Sink } from '../pipeline/get-stream.js';
import { blockDeviceSize } from './block-device.js';

export interface OutputTarget {
  readonly sink: Sink;
  /** Makes the output final (renames a file into place). Only called after full verification. */
  commit(): Promise<void>;
  /** Removes what was written, so a failed restore is never mistaken for a complete one. */
  discard(): Promise<void>;
  /** discard() for a process about to exit on a signal: no await will run any more. */
  discardNow(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Fills the output and makes it final only once `fill` has completed (and verified) it. On an
 * error, or a signal (exit 6), a file's partial content is removed first: restored plaintext
 * is never left behind under a name that could pass for the restore.
 */
export async function intoOutput(file: string | undefined, size: number, fill: (sink: Sink) => Promise<void>): Promise<void> {
  const output = await openOutput(file, size);
  const onSignal = (sig: NodeJS.Signals) => {
    output.discardNow();
    warn(`interrupted by ${sig}: the restore is incomplete${file === undefined || file === '-' ? '' : `; nothing was left at ${file}`}`);
    process.exit(ExitCode.interrupted);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    await fill(output.sink);
    await output.commit();
  } catch (e) {
    await output.discard();
    throw e;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}

const code = (e: any) => e?.code ?? e?.message ?? String(e);

/**
 * stdout; a device or fifo, written in place; or a regular file, written under a temporary
 * name beside it and renamed once verified. A symlink is followed first: the rename replaces
 * the file it points to, never the link (nor a link like /dev/stdout).
 */
async function openOutput(file: string | undefined, size: number): Promise<OutputTarget> {
  refuseTerminal(file);
  if (file === undefined || file === '-') return stdoutTarget();
  if (file === '') throw usageError('--output needs a file name');
  const st = await fs.stat(file).catch(() => null);
  if (st?.isDirectory()) throw usageError(`--output ${file} is a directory (to restore into a directory under the original name: s3duct get NAME DIR)`);
  if (st?.isBlockDevice()) await checkRoom(file, size);
  if (st && !st.isFile()) return deviceTarget(file, st.isBlockDevice());
  if (!st && (await fs.lstat(file).catch(() => null))?.isSymbolicLink()) throw usageError(`--output ${file} is a symlink to nothing`);
  const real = st ? await fs.realpath(file) : file;
  await removeLeftovers(real);
  const tmp = `${real}${PARTIAL}${HOST}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await fs.open(tmp, 'wx', 0o600).catch((e) => {
    throw usageError(`cannot create --output ${file}: ${code(e) === 'ENOENT' ? 'no such directory' : code(e)}`);
  });
  return {
    sink: { write: (b) => writeAll(fh, b, file) },
    async commit() {
      await fh.sync();
      await fh.close();
      await fs.rename(tmp, real);
    },
    async discard() {
      await fh.close().catch(() => {});
      await fs.rm(tmp, { force: true });
    },
    discardNow: () => rmSync(tmp, { force: true }),
  };
}

/** Restored bytes are binary more often than not: a terminal would garble (and sometimes
 *  obey) them. `--output -` says the terminal is meant. */
export function refuseTerminal(file: string | undefined): void {
  if (file === undefined && isatty(1)) throw usageError('refusing to write the restored data to a terminal: redirect it (> FILE, | tar x) or give --output FILE (--output - writes to the terminal anyway)');
}

/**
 * `<file>.s3duct-partial-<host>-<pid>-<random>`: a get killed outright (SIGKILL, the OOM killer)
 * cannot remove its partial file, so the next get into the same file removes those whose
 * process is gone. Only this host's: another machine's get may still be writing into a shared
 * directory.
 */
const PARTIAL = '.s3duct-partial-';
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');

async function removeLeftovers(real: string): Promise<void> {
  const stem = path.basename(real) + PARTIAL;
  for (const f of await fs.readdir(path.dirname(real)).catch(() => [] as string[])) {
    const m = f.startsWith(stem) ? /^(.+)-(\d+)-[0-9a-f]{8}$/.exec(f.slice(stem.length)) : null;
    if (!m || m[1] !== HOST || isRunning(Number(m[2]))) continue;
    if (await fs.rm(path.join(path.dirname(real), f)).then(() => true, () => false)) warn(`removed ${f}, the partial file of an earlier restore that was killed`);
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A disk too small would take part of the restore and then fail: refused before a byte. */
async function checkRoom(file: string, size: number): Promise<void> {
  const room = await blockDeviceSize(file);
  if (room !== undefined && room < size) throw usageError(`--output ${file} holds ${room} bytes, the stream has ${size}: nothing was written`);
}

/** A device or fifo: written in place (there is no rename for it), and synced only if a disk. */
async function deviceTarget(file: string, isDisk: boolean): Promise<OutputTarget> {
  const fh = await fs.open(file, fsConstants.O_WRONLY).catch((e) => {
    throw usageError(`cannot open --output ${file}: ${code(e)}`);
  });
  return {
    sink: { write: (b) => writeAll(fh, b, file) },
    commit: async () => {
      if (isDisk) await fh.sync();
      await fh.close();
    },
    discard: async () => void (await fh.close().catch(() => {})),
    discardNow: () => {},
  };
}

async function writeAll(fh: fs.FileHandle, b: Buffer, file: string): Promise<void> {
  try {
    // A fifo may take less than asked in one write.
    for (let done = 0; done < b.length; ) done += (await fh.write(b, done, b.length - done)).bytesWritten;
  } catch (e) {
    throw failure(`cannot write --output ${file}: ${code(e)}`);
  }
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
    discardNow: () => {},
  };
}
