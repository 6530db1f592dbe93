import { randomBytes } from 'node:crypto';
import { ExitCode, S3ductError, conflictError } from '../errors.js';
import type { StreamLayout } from '../format/layout.js';
import { oneShot } from '../pipeline/put-stream.js';
import type { Store } from '../store/store.js';
import { hostname } from 'node:os';
import { isRunning, processStart } from './lock.js';
import { stateDirId } from './state-dir.js';

/**
 * The store-side lock of a named stream's put (`<stream>/lock`, docs/FORMAT.md section 7.1).
 * The lock file in the state directory keeps two puts on one machine apart; this object keeps
 * apart puts on different machines, containers or users, which would otherwise overwrite each
 * other's chunks and both report success. A running put refreshes it every minute, so one
 * left by a put that died can be told from one in use.
 */
export interface LockBody {
  readonly lock: 's3duct-put';
  readonly version: 1;
  /** The stream the holding put writes. */
  readonly streamId: string;
  /** The holder's state directory (stateDirId): a put there can tell the holder is not running. */
  readonly holder: string;
  readonly token: string;
  readonly since: string;
  readonly refreshed: string;
  /** 'stopped': the put exited (interrupted, exit 6) and runs no more; absent while it runs. */
  readonly state?: 'stopped';
  /** 'delete': held by a delete of the stream rather than a put (streamId is then empty). */
  readonly command?: 'delete';
  /** The holding process (and its start time), for a command of the same holder to tell
   *  whether it still runs: the same bucket named two ways (localhost, 127.0.0.1) gets two
   *  state-directory locks, so those cannot be relied on to rule it out. */
  readonly pid?: number;
  readonly started?: string;
}

const REFRESH_MS = 60_000;
/** A lock not refreshed for this long belongs to a put that is no longer running. */
export const STALE_MS = 10 * 60_000;
/**
 * How recently a put must have refreshed its lock to make a chunk visible without asking the
 * store again. Well under STALE_MS, so another put can take the lock over only from a put that
 * would first ask, and find it gone.
 */
const LEASE_MS = 2 * REFRESH_MS;
/** How long a lock written without a condition is left to settle before it is read back. */
const SETTLE_MS = 1500;

export async function readLock(store: Store, layout: StreamLayout): Promise<LockBody | 'foreign' | null> {
  let bytes: Buffer;
  try {
    bytes = await store.get(layout.lock);
  } catch (e) {
    if (e instanceof S3ductError && e.exitCode === ExitCode.notFound) return null;
    throw e;
  }
  try {
    const b = JSON.parse(bytes.toString('utf8'));
    return b?.lock === 's3duct-put' && typeof b.token === 'string' && typeof b.refreshed === 'string' ? (b as LockBody) : 'foreign';
  } catch {
    return 'foreign';
  }
}

/**
 * Whether the lock's command may still be running, seen from a command holding the state
 * directory lock of this stream in state directory `here`. Its age is told by the store's
 * clock (the object's last write against the store's now), not by the times it holds: the
 * holder's clock or this machine's may be minutes off, and a running put taken for dead would
 * have its chunks overwritten. A lock object s3duct cannot read counts as in use until stale.
 */
export async function lockIsLive(store: Store, layout: StreamLayout, l: LockBody | 'foreign', here: string): Promise<boolean> {
  if (l !== 'foreign' && l.state === 'stopped') return false;
  // Our own holder: its process tells, unless it has our pid with another start time (two
  // containers sharing a state directory and a host name are both pid 1): then only its age.
  const samePid = l !== 'foreign' && l.pid === process.pid && l.started !== processStart(process.pid);
  if (l !== 'foreign' && l.holder === here && !samePid) return l.pid !== undefined && isRunning(l.pid, l.started);
  const written = (await store.head(layout.lock))?.lastModified?.getTime();
  if (written === undefined) return l !== 'foreign' && Date.parse(l.refreshed) > Date.now() - STALE_MS;
  return written > store.now() - STALE_MS;
}

/** "another put of "x" is running (…)": what holds the lock, for a refusal. */
function describe(l: LockBody | 'foreign', name: string): string {
  if (l === 'foreign') return `the stream "${name}" holds a lock object s3duct did not write`;
  return `another ${l.command ?? 'put'} of "${name}" is running (lock taken ${l.since}, last refreshed ${l.refreshed})`;
}

/** --restart discards an interrupted put, never a running one: refused while its lock lives. */
export async function refuseIfRunning(store: Store, layout: StreamLayout, name: string): Promise<void> {
  const held = await readLock(store, layout);
  if (held !== null && (await lockIsLive(store, layout, held, holderId())))
    throw conflictError(`${describe(held, name)}: --restart discards only a put that has stopped; stop that one first, or if it was killed, wait until its lock is ${STALE_MS / 60_000} minutes old`);
}

/**
 * Who holds a lock: this state directory on this host. Two hosts sharing one state directory
 * (an NFS home, a volume mounted in two containers) must not take each other for themselves.
 */
export function holderId(): string {
  return `${stateDirId()}@${hostname()}`;
}

export class StoreLock {
  private timer: NodeJS.Timeout | undefined;
  /** A refresh in flight: a release waits for it, or the lock would reappear after the delete. */
  private refreshing: Promise<unknown> = Promise.resolve();
  /** When this put last wrote its lock (wall-clock time, which runs on while a machine sleeps). */
  private refreshedAt = Date.now();
  /** One store round trip shared by chunks that ask at the same moment. */
  private confirming: Promise<void> | undefined;
  private lost = false;

  private constructor(
    private readonly store: Store,
    private readonly layout: StreamLayout,
    private body: LockBody,
  ) {}

  /**
   * Takes the lock for a put writing `streamId` (or a delete). An existing lock is taken over
   * when its command is not running (lockIsLive): it stopped (exit 6), went stale by the
   * store's clock (killed), or was this holder's and its process is gone. Anything else is a
   * conflict (exit 7).
   */
  static async acquire(store: Store, layout: StreamLayout, name: string, streamId: string, command?: 'delete'): Promise<StoreLock> {
    const now = new Date().toISOString();
    const holder = holderId();
    const started = processStart(process.pid);
    const body: LockBody = {
      lock: 's3duct-put',
      version: 1,
      streamId,
      holder,
      token: randomBytes(16).toString('hex'),
      since: now,
      refreshed: now,
      pid: process.pid,
      ...(started && { started }),
      ...(command && { command }),
    };
    const lock = new StoreLock(store, layout, body);
    const created = await store.create(layout.lock, lock.bytes(), { contentType: 'application/json' });
    // Written without a condition, another command may have written it in the same instant:
    // the last write wins, and the pause lets it land before the read-back names the winner,
    // so the loser stops before its first chunk rather than at its next check.
    let contested = created === 'unsure';
    if (created === 'exists') {
      const held = await readLock(store, layout);
      if (held !== null && (await lockIsLive(store, layout, held, holder)))
        throw conflictError(
          `${describe(held, name)}: let it finish, or resume it where it ran; a killed put's lock goes stale ${STALE_MS / 60_000} minutes after its last refresh (${layout.lock})`,
        );
      await lock.write();
      contested = true; // another command may be taking over the same stale lock
    }
    if (contested) await new Promise((r) => setTimeout(r, SETTLE_MS));
    if (!(await lock.holds())) throw conflictError(`another command took the lock of "${name}" at the same moment (${layout.lock}); nothing was written: run it again once that one is done`);
    lock.refreshedAt = Date.now();
    lock.timer = setInterval(() => (lock.refreshing = lock.refresh().catch(() => {})), REFRESH_MS);
    lock.timer.unref();
    return lock;
  }

  /** Throws unless the lock is still this put's: another put took it (after --restart, or a
   *  delete), and this put must not write a manifest over chunks that may have changed. */
  async check(name: string): Promise<void> {
    if (!(await this.holds())) {
      this.lost = true; // and nothing more of this put's may be written, its journal included
      throw conflictError(`the lock of "${name}" was taken by another command while this put ran (${this.layout.lock}); the manifest was not written`);
    }
  }

  /**
   * Throws unless this put still holds the lock: called before each chunk becomes visible. A
   * put suspended past the stale time (a laptop asleep, SIGSTOP) may have lost it to another
   * put of the stream, whose chunks it would then replace. Costs a request only after a pause.
   */
  async confirm(name: string): Promise<void> {
    const age = Date.now() - this.refreshedAt;
    if (!this.lost && age >= 0 && age < LEASE_MS) return;
    await (this.confirming ??= this.refreshOrThrow(name).finally(() => (this.confirming = undefined)));
  }

  private async refreshOrThrow(name: string): Promise<void> {
    await this.refreshing;
    await this.refresh();
    if (this.lost) throw conflictError(`the lock of "${name}" was taken by another put while this one was paused (${this.layout.lock}); this put stopped without writing more chunks`);
  }

  /** The put stopped short (exit 6): the lock stays, marked so any later put may take it
   *  over at once (a killed put's lock only goes stale). */
  async stopped(): Promise<void> {
    await this.stopRefreshing();
    if (!(await this.holds())) return; // taken: not ours to mark
    this.body = { ...this.body, refreshed: new Date().toISOString(), state: 'stopped' };
    await this.write();
  }

  async release(): Promise<void> {
    await this.stopRefreshing();
    await this.store.delete([this.layout.lock]);
  }

  async holds(): Promise<boolean> {
    const held = await readLock(this.store, this.layout);
    return held !== null && held !== 'foreign' && held.token === this.body.token;
  }

  private async stopRefreshing(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
  }

  private async refresh(): Promise<void> {
    // A put that was suspended past the stale time may have lost the lock to another: it must
    // not overwrite theirs (its own check before the manifest then fails).
    if (this.lost || !(await this.holds())) {
      this.lost = true;
      return clearInterval(this.timer);
    }
    const now = Date.now();
    this.body = { ...this.body, refreshed: new Date(now).toISOString() };
    await this.write();
    this.refreshedAt = now;
  }

  private write(): Promise<unknown> {
    return this.store.put(this.layout.lock, oneShot(this.bytes()), { storageClass: 'STANDARD', contentType: 'application/json' });
  }

  private bytes(): Buffer {
    return Buffer.from(JSON.stringify(this.body) + '\n', 'utf8');
  }
}
