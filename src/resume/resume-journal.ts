import { openJournal, type Protection, type StreamCodec } from '../crypto/stream-codec.js';
import { ExitCode, S3ductError } from '../errors.js';
import type { StreamLayout } from '../format/layout.js';
import { oneShot } from '../pipeline/put-stream.js';
import type { Store } from '../store/store.js';
import { encodeChunk, encodeHeader, parseJournal, type Journal, type JournalChunk, type JournalHeader } from './journal-format.js';
import { LocalJournal } from './local-journal.js';

/** The store copy is rewritten whole, so it is refreshed at most this often (and at the end of
 *  a failed run); the local journal, appended per chunk, is the precise one. */
const STORE_COPY_INTERVAL_MS = 30_000;
const STORE_COPY_EVERY_CHUNKS = 32;

/**
 * Journal of an interrupted-or-running put: fsynced locally after every acknowledged chunk,
 * and copied to `<stream>/resume` in the store so a put can be resumed from another machine
 * or after the local state is lost.
 */
export class ResumeJournal {
  private header: JournalHeader | undefined;
  private chunks: JournalChunk[] = [];
  private lastCopy = Date.now();
  private sinceCopy = 0;

  constructor(
    private readonly store: Store,
    private readonly layout: StreamLayout,
    private readonly local: LocalJournal,
    /** Rejects when this put may no longer write the stream's objects (its store lock is lost):
     *  the store copy would then replace the journal of the put that holds the stream now. */
    private readonly mayWrite: () => Promise<void> = async () => {},
  ) {}

  async begin(header: JournalHeader, existing: readonly JournalChunk[]): Promise<void> {
    this.header = header;
    this.chunks = [...existing];
    await this.local.open(header, existing);
  }

  async record(c: JournalChunk, codec: StreamCodec): Promise<void> {
    await this.local.append(c);
    this.chunks.push(c);
    if (++this.sinceCopy >= STORE_COPY_EVERY_CHUNKS || Date.now() - this.lastCopy > STORE_COPY_INTERVAL_MS) await this.copyToStore(codec);
  }

  async copyToStore(codec: StreamCodec): Promise<void> {
    if (!this.header) return;
    await this.mayWrite();
    const text = Buffer.from(encodeHeader(this.header) + this.chunks.map(encodeChunk).join(''), 'utf8');
    await this.store.put(this.layout.resume, oneShot(codec.sealJournal(text)), { storageClass: 'STANDARD', contentType: 'application/x-s3duct-journal' });
    this.lastCopy = Date.now();
    this.sinceCopy = 0;
  }

  /** The put finished (or was discarded): no journal remains anywhere. */
  async discard(): Promise<void> {
    await this.local.remove();
    await this.store.delete([this.layout.resume]);
  }

  async close(): Promise<void> {
    await this.local.close();
  }
}

/**
 * The journal of an interrupted put of this stream: the local one (`mine`, already read) if
 * present, else the store copy (whichever has the same stream and more chunks wins when both exist).
 */
export async function loadInterrupted(store: Store, layout: StreamLayout, protection: Protection, mine: Journal | null, useStoreCopy = true): Promise<Journal | null> {
  if (!useStoreCopy) return mine;
  let remote: Journal | null = null;
  try {
    remote = parseJournal((await openJournal(await store.get(layout.resume), protection, `resume journal of "${layout.stream}"`)).toString('utf8'));
  } catch (e) {
    if (!(e instanceof S3ductError && e.exitCode === ExitCode.notFound)) throw e;
  }
  if (mine && remote && mine.header.streamId === remote.header.streamId) return remote.chunks.length > mine.chunks.length ? remote : mine;
  return mine ?? remote;
}
