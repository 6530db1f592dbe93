import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import { conflictError } from '../errors.js';

/**
 * One put per stream at a time on this machine: an O_EXCL lock file holding pid and host.
 * A lock whose process is gone (crash, kill -9) is stale and taken over.
 */
export async function acquireLock(file: string, what: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fs.open(file, 'wx', 0o600);
      await fh.write(JSON.stringify({ pid: process.pid, host: hostname() }));
      await fh.close();
      return async () => void (await fs.rm(file, { force: true }));
    } catch (e: any) {
      if (e?.code !== 'EEXIST') throw e;
    }
    let holder: { pid?: number; host?: string } = {};
    try {
      holder = JSON.parse(await fs.readFile(file, 'utf8'));
    } catch {
      /* torn or vanished: treat as stale */
    }
    if (holder.pid && holder.host === hostname() && alive(holder.pid))
      throw conflictError(`another put of ${what} is running (pid ${holder.pid}); wait for it or stop it first`);
    await fs.rm(file, { force: true });
  }
  throw conflictError(`could not lock ${what}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e?.code === 'EPERM';
  }
}
