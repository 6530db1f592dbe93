import { failure, notFoundError, notReadyError } from '../errors.js';
import type { StreamLayout } from '../format/layout.js';
import type { Manifest } from '../format/manifest.js';
import type { Store } from '../store/store.js';
import { formatDuration } from '../units.js';
import { isReadable, type ChunkStatus } from './chunk-status.js';
import { surveyChunks } from './chunk-survey.js';

export interface ThawWatchOptions {
  readonly store: Store;
  readonly layout: StreamLayout;
  readonly manifest: Manifest;
  /** The survey the caller acted on (restores already requested for its archived chunks). */
  readonly initial: readonly ChunkStatus[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Asks again for a chunk found archived while waiting (e.g. an old restored copy lapsed). */
  readonly rerequest: (c: ChunkStatus) => Promise<void>;
  readonly onPoll?: (ready: number, total: number, elapsedMs: number) => void;
}

/** Polls that may report a chunk's state as unknown in a row before the wait gives up. */
const UNKNOWN_LIMIT = 3;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {}); // observed by whoever awaits it; the loop's own promise reports too
  return { promise, resolve, reject };
}

/**
 * Waits for a stream's chunks to become readable, one listing per poll for the chunks still
 * pending. It stops rather than loop forever: a chunk gone missing, a chunk archived again
 * after one repeated request, a state unknown for several polls, or the timeout.
 */
export class ThawWatch {
  private readonly waiting = new Map<number, Deferred>();
  private readonly started = Date.now();
  private stopped = false;
  private wake?: () => void;
  readonly done: Promise<void>;

  constructor(private readonly o: ThawWatchOptions) {
    for (const c of o.initial) {
      const d = deferred();
      if (isReadable(c.state)) d.resolve();
      this.waiting.set(c.index, d);
    }
    this.done = this.loop();
    this.done.catch((e) => {
      for (const d of this.waiting.values()) d.reject(e);
    });
  }

  /** Resolves when chunk `index` can be read. */
  ready(index: number): Promise<void> {
    return this.waiting.get(index)?.promise ?? Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    const total = this.o.initial.length;
    const pending = new Set(this.o.initial.filter((c) => !isReadable(c.state)).map((c) => c.index));
    const asked = new Set<number>();
    const unknownPolls = new Map<number, number>();
    let first = true;
    while (pending.size && !this.stopped) {
      const elapsed = Date.now() - this.started;
      if (!first) {
        if (elapsed >= this.o.timeoutMs)
          throw notReadyError(
            `gave up waiting after ${formatDuration(elapsed / 1000)}: ${total - pending.size} of ${total} chunks readable; the restore continues in the store, run the command again later`,
          );
        await this.sleep(Math.min(this.o.intervalMs, this.o.timeoutMs - elapsed));
        if (this.stopped) return;
      }
      first = false;
      for (const c of await surveyChunks(this.o.store, this.o.layout, this.o.manifest, { only: pending })) {
        const s = c.state;
        if (isReadable(s)) {
          pending.delete(c.index);
          this.waiting.get(c.index)?.resolve();
        } else if (s.kind === 'missing') {
          throw notFoundError(`chunk ${c.index} (${c.key}) is missing from the store: it can never become readable`);
        } else if (s.kind === 'unknown') {
          const n = (unknownPolls.get(c.index) ?? 0) + 1;
          unknownPolls.set(c.index, n);
          if (n >= UNKNOWN_LIMIT) throw failure(`chunk ${c.index} (${c.key}): state unknown for ${n} polls in a row: ${s.reason}`);
        } else if (s.kind === 'archived') {
          if (asked.has(c.index))
            throw failure(`chunk ${c.index} (${c.key}): a restore was requested but the store reports none in progress and no readable copy`);
          asked.add(c.index);
          await this.o.rerequest(c);
        } else unknownPolls.delete(c.index);
      }
      this.o.onPoll?.(total - pending.size, total, Date.now() - this.started);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(0, ms));
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
