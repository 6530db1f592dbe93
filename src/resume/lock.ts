import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import { conflictError } from '../errors.js';

interface Holder {
  pid?: number;
  host?: string;
  /** The process's start time (Linux /proc), so a pid reused by another process is told apart. */
  started?: string;
}

/**
 * One command per stream at a time on this machine: a lock file holding pid, host and start
 * time. A lock whose process is gone (crash, kill -9) is stale and taken over; so is one of
 * another host (a shared state directory), whose liveness only the store lock can tell.
 */
export async function acquireLock(file: string, what: string): Promise<() => Promise<void>> {
  const mine: Holder = { pid: process.pid, host: hostname(), started: processStart(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createWith(file, JSON.stringify(mine))) return async () => void (await fs.rm(file, { force: true }));
    let holder: Holder = {};
    try {
      holder = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch {
      /* torn (an older version wrote it in two steps) or vanished: stale */
    }
    if (holder.host === hostname() && holder.pid && isRunning(holder.pid, holder.started))
      throw conflictError(`another put or delete of ${what} is running (pid ${holder.pid}); wait for it or stop it first (its lock: ${file})`);
    await fs.rm(file, { force: true });
  }
  throw conflictError(`could not lock ${what} (${file})`);
}

/**
 * Creates `file` with its content in one step: written beside it, then hard-linked into place
 * (fails if it exists), so no reader ever sees it empty and takes it for stale. A file system
 * without hard links gets an O_EXCL create and a write.
 */
async function createWith(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await fs.writeFile(tmp, content, { mode: 0o600 });
  try {
    await fs.link(tmp, file);
    return true;
  } catch (e: any) {
    if (e?.code === 'EEXIST') return false;
    if (e?.code !== 'EPERM' && e?.code !== 'ENOTSUP' && e?.code !== 'EOPNOTSUPP') throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
  try {
    const fh = await fs.open(file, 'wx', 0o600);
    await fh.write(content);
    await fh.close();
    return true;
  } catch (e: any) {
    if (e?.code === 'EEXIST') return false;
    throw e;
  }
}

/** Whether another process of this host runs as `pid`, started at `started` if known. Our own
 *  pid is never another holder: in a container every run is pid 1. */
export function isRunning(pid: number, started: string | undefined): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e: any) {
    if (e?.code !== 'EPERM') return false;
  }
  return started === undefined || processStart(pid) === started;
}

export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
