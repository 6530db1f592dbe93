import type { StreamLayout } from '../format/layout.js';
import { bareEtag, type Store } from '../store/store.js';
import { HEADER_SIZE, decodeHeader } from '../crypto/segmented-aead.js';
import { journalAgeHeader, type Journal } from './journal-format.js';
import { readLock } from './store-lock.js';

/* A multipart ETag ("…-N") was checked to be the same in the upload's answer and in listings
 * on moto and Swift, as on AWS; a store that differed would only make a put start over. */

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
    const [was, is] = [bareEtag(c.etag), bareEtag(o.etag)];
    const same = o.size === c.storedSize && (was && is ? was === is : await sameStart(store, layout, journal, c.index));
    if (!same) return `chunk ${c.index} in the store is not the one it stored`;
  }
  return undefined;
}

/**
 * Without ETags (a local directory), a chunk another put wrote in the same place, with the
 * same size, is told by its first bytes: a sealed chunk names its stream and index, an age
 * chunk begins with its put's own header. An unencrypted chunk has nothing to tell by.
 */
async function sameStart(store: Store, layout: StreamLayout, journal: Journal, index: number): Promise<boolean> {
  const head = await store.get(layout.chunk(index), { start: 0, end: HEADER_SIZE });
  const age = journalAgeHeader(journal.header);
  if (age) return head.equals(age.subarray(0, head.length));
  if (journal.header.encryption === 'none') return true;
  try {
    const h = decodeHeader(head, `chunk ${index}`);
    return h.kind === 'chunk' && h.streamId.toString('hex') === journal.header.streamId && h.index === index;
  } catch {
    return false;
  }
}
