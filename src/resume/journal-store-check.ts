import type { StreamLayout } from '../format/layout.js';
import type { Store } from '../store/store.js';
import type { Journal } from './journal-format.js';
import { readLock } from './store-lock.js';

/** A multipart ETag ("…-N") is the store's own digest of parts, which stores report in
 *  listings less consistently than a single object's MD5: only the latter is compared. */
const comparable = (etag: string | undefined) => (etag && !etag.includes('-') ? etag.replace(/"/g, '') : undefined);

/**
 * Why the store no longer holds what an interrupted put's journal says it stored, or
 * undefined if it does. A journal is only the record of one machine: since it was written,
 * another machine may have deleted the stream, or started it over (--restart) and written
 * chunks of another stream in its place. Resuming then would write a manifest over chunks
 * that are missing or not this stream's. One listing per 1,000 chunks, plus the lock.
 */
export async function whyJournalIsStale(store: Store, layout: StreamLayout, journal: Journal): Promise<string | undefined> {
  const lock = await readLock(store, layout);
  if (lock && lock !== 'foreign' && lock.streamId !== journal.header.streamId) return 'another put has written the stream since (its lock names another stream)';
  const listed = new Map<string, { size: number; etag?: string }>();
  for await (const o of store.list(layout.chunksDir)) listed.set(o.key, o);
  for (const c of journal.chunks) {
    // Some stores (Swift) list an object a moment after writing it: HEAD before calling it gone.
    const o = listed.get(layout.chunk(c.index)) ?? (await store.head(layout.chunk(c.index)));
    if (!o) return `chunk ${c.index} is no longer in the store`;
    const [was, is] = [comparable(c.etag), comparable(o.etag)];
    if (o.size !== c.storedSize || (was && is && was !== is)) return `chunk ${c.index} in the store is not the one it stored`;
  }
  return undefined;
}
