import { chainStep } from '../crypto/chain.js';
import { AsyncQueue } from './async-queue.js';
import { SLAB_HEADROOM, SlabPool } from './slab-pool.js';
import { CryptoPool, type CryptoJob, type JobDigest } from './crypto-pool.js';
import { settledLater } from './settled-later.js';
import type { StreamCodec } from '../crypto/stream-codec.js';
import { atChunk, integrityError } from '../errors.js';
import type { StreamLayout } from '../format/layout.js';
import type { ChunkRecord, Manifest } from '../format/manifest.js';
import { chunkListDigests } from '../format/stream-digest.js';
import type { Store } from '../store/store.js';
import { orderedPrefetch } from './ordered-prefetch.js';

/** Where restored bytes go. `write` resolves once the sink is done with `b` (the caller
 *  reuses its memory) and can take more (backpressure). */
export interface Sink {
  write(b: Buffer): Promise<void>;
}

export interface GetStreamParams {
  readonly store: Store;
  readonly layout: StreamLayout;
  readonly manifest: Manifest;
  readonly codec: StreamCodec;
  readonly sink: Sink;
  /** Ranged GETs in flight at once. */
  readonly concurrency: number;
  readonly rangeSize: number;
  readonly onWritten?: (bytes: number) => void;
  /** Slabs of GET_SLAB_SIZE for steps fetched but not yet written. */
  readonly lookAhead?: SlabPool;
  /**
   * The chunks of an unfinished put, from its journal: each is verified, but there are no
   * whole-stream totals to check, and each chunk's last-chunk mark comes from the journal.
   */
  readonly partial?: { readonly lastMarks: readonly boolean[] };
  /** Called once a chunk has passed every check, in order: lets verify attribute a failure
   *  to the first chunk not reported here. */
  readonly onChunkVerified?: (c: ChunkRecord) => void;
}

export interface RangedObject<T> {
  readonly key: string;
  readonly size: number;
  readonly tag: T;
}

export interface RangePiece<T> {
  readonly tag: T;
  readonly bytes: Buffer;
  /** The last piece of its object (an empty object yields one empty piece). */
  readonly endOfObject: boolean;
  /** Gives `bytes` back to the range buffers it was read into, once used. */
  readonly release: () => void;
}

/**
 * The objects' bytes in `rangeSize`-byte ranges, in order, with up to `concurrency` ranges
 * downloading ahead. Each range is read into one of concurrency + 1 reused buffers (those in
 * flight and the one being used) until its piece is released: fresh buffers per range would
 * pile up as garbage well beyond the ranges in flight.
 */
export function prefetchRanges<T>(
  store: Store,
  objects: Iterable<RangedObject<T>>,
  rangeSize: number,
  concurrency: number,
  mapError: (tag: T, e: unknown) => unknown = (_t, e) => e,
): AsyncGenerator<RangePiece<T>> {
  return orderedPrefetch(rangeReads(store, objects, rangeSize, mapError, new SlabPool(rangeSize, concurrency + 1)), concurrency);
}

function* rangeReads<T>(
  store: Store,
  objects: Iterable<RangedObject<T>>,
  rangeSize: number,
  mapError: (tag: T, e: unknown) => unknown,
  buffers: SlabPool,
): Generator<() => Promise<RangePiece<T>>> {
  const none = () => {};
  for (const o of objects) {
    if (o.size === 0) {
      yield async () => ({ tag: o.tag, bytes: Buffer.alloc(0), endOfObject: true, release: none });
      continue;
    }
    for (let start = 0; start < o.size; start += rangeSize) {
      const end = Math.min(o.size, start + rangeSize);
      yield async () => {
        const into = await buffers.acquire();
        const release = () => buffers.release(into);
        try {
          return { tag: o.tag, bytes: await store.get(o.key, { start, end }, into), endOfObject: end === o.size, release };
        } catch (e) {
          release();
          throw mapError(o.tag, e);
        }
      };
    }
  }
}

/** Fetched ranges go to the decoder in steps of this size, each in a slab of its own, so the
 *  decoder's working memory does not grow with the range size. */
const STEP_SIZE = 1 << 20;
/** Default look-ahead in slabs: steps being decoded, hashed or written. */
export const DEFAULT_LOOK_AHEAD_SLABS = 16;
/** The slab size a look-ahead pool given to getStream must have. */
export const GET_SLAB_SIZE = STEP_SIZE + SLAB_HEADROOM;

interface Decoded {
  /** Plaintext: a view of `slab`. */
  readonly plain: Buffer;
  readonly slab: Uint8Array;
  /** Set on a chunk's last piece. */
  readonly end?: { readonly record: ChunkRecord; readonly digest: JobDigest };
}

/**
 * Streams a stream back in order, verifying as it goes: each segment's authentication before
 * its plaintext is written, then each chunk's size, hashes and chain link, then the count and
 * whole-stream hashes. Throws an integrity error naming the chunk and the check that failed.
 *
 * Threads: each chunk is decoded and hashed on two lanes of the pool (see CryptoPool), a
 * version 1 stream's whole-stream hashes on a thread of their own, while this thread fetches
 * and writes. The fetcher runs ahead of
 * the writer within the look-ahead slabs; the writer takes results strictly in order.
 */
export async function getStream(p: GetStreamParams): Promise<void> {
  const pool = new CryptoPool(undefined, undefined, 'one');
  try {
    await getWithPool(p, pool);
  } finally {
    await pool.close();
  }
}

async function getWithPool(p: GetStreamParams, pool: CryptoPool): Promise<void> {
  const m = p.manifest;
  const last = m.chunks.length - 1;
  const isLast = (i: number) => (p.partial ? p.partial.lastMarks[i]! : i === last);
  const slabs = p.lookAhead ?? new SlabPool(GET_SLAB_SIZE, DEFAULT_LOOK_AHEAD_SLABS);
  if (slabs.slabSize < GET_SLAB_SIZE) throw new Error(`look-ahead slabs must hold ${GET_SLAB_SIZE} bytes`);
  // Only version 1 hashes the whole plaintext again (sequentially, on a thread of its own).
  const streamHash = m.version === 1 ? pool.streamHasher() : undefined;
  const queue = new AsyncQueue<Promise<Decoded>>();
  let failed: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failed ??= { error };
    slabs.abort(failed.error);
  };

  const fetchAll = async () => {
    let job: CryptoJob | undefined;
    let stored = 0;
    const objects = m.chunks.map((c) => ({ key: p.layout.chunk(c.index), size: c.storedSize, tag: c }));
    for await (const piece of prefetchRanges(p.store, objects, p.rangeSize, p.concurrency, (c, e) => atChunk(c.index, e))) {
      if (failed) return;
      const c = piece.tag;
      job ??= pool.decoder(p.codec, c.index, isLast(c.index));
      for (let off = 0; off < piece.bytes.length; off += STEP_SIZE) {
        const step = piece.bytes.subarray(off, off + STEP_SIZE);
        const slab = await slabs.acquire();
        slab.set(step);
        const decoding = job.step(slab.subarray(0, step.length), slab);
        queue.push(settledLater(decoding.then((plain) => ({ plain, slab }), chunkFailed(c.index))));
      }
      piece.release(); // every step was copied into a slab
      stored += piece.bytes.length;
      if (!piece.endOfObject) continue;
      if (stored !== c.storedSize) throw atChunk(c.index, integrityError(`chunk ${c.index}: stored object has ${stored} bytes, manifest says ${c.storedSize}`));
      const tail = await slabs.acquire();
      queue.push(
        settledLater(job.finish(isLast(c.index), tail).then((f) => ({ plain: f.out, slab: tail, end: { record: c, digest: f.digest } }), chunkFailed(c.index))),
      );
      job = undefined;
      stored = 0;
    }
  };

  const writeAll = async () => {
    let chain = p.codec.chainKey;
    for await (const next of queue) {
      const d = await next;
      if (d.plain.length) {
        // The stream hasher reads the same shared bytes while they are written out.
        const hashed = settledLater<unknown>(streamHash ? streamHash.step(d.plain) : Promise.resolve());
        await p.sink.write(d.plain);
        p.onWritten?.(d.plain.length);
        hashed.then(() => slabs.release(d.slab), fail);
      } else slabs.release(d.slab);
      if (d.end) {
        try {
          chain = verifyChunk(d.end.record, d.end.digest, chain);
        } catch (e) {
          throw atChunk(d.end.record.index, e);
        }
        p.onChunkVerified?.(d.end.record);
      }
    }
    return chain;
  };

  const fetching = fetchAll().then(() => queue.end(), (e) => {
    fail(e);
    queue.push(settledLater(Promise.reject(e))); // the writer stops at the failure, in order
    queue.end();
  });
  let chain: Buffer;
  try {
    chain = await writeAll();
  } catch (error) {
    // The writer meets failures in stream order (the fetcher queues its own): report this one.
    fail(error);
    await fetching;
    throw error;
  }
  await fetching;
  if (failed) throw failed.error;
  if (p.partial) return;
  // Every chunk matched its record, so the records stand for the restored bytes here.
  const size = m.chunks.reduce((n, c) => n + c.size, 0);
  if (size !== m.stream.size) throw integrityError(`stream: ${size} bytes restored, manifest says ${m.stream.size}`);
  if (m.version === 1) {
    const t = (await streamHash!.finish(true)).digest;
    if (t.size !== m.stream.size) throw integrityError(`stream: ${t.size} bytes restored, manifest says ${m.stream.size}`);
    if (t.sha256.toString('hex') !== m.stream.sha256) throw integrityError('stream: SHA-256 of the whole stream does not match the manifest');
    if (t.sha3_256.toString('hex') !== m.stream.sha3_256) throw integrityError('stream: SHA3-256 of the whole stream does not match the manifest');
  } else {
    const d = chunkListDigests(m.chunks);
    if (d.sha256OfChunks !== m.stream.sha256OfChunks) throw integrityError('stream: SHA-256 over the chunk digests does not match the manifest');
    if (d.sha3_256OfChunks !== m.stream.sha3_256OfChunks) throw integrityError('stream: SHA3-256 over the chunk digests does not match the manifest');
  }
  if (chain.toString('hex') !== m.stream.chain) throw integrityError('stream: final chain value does not match the manifest');
}

const chunkFailed = (index: number) => (e: unknown): never => {
  throw atChunk(index, e);
};

/** Checks one chunk's plaintext digests against its record; returns its recomputed chain link. */
function verifyChunk(c: ChunkRecord, d: JobDigest, previous: Buffer): Buffer {
  if (d.size !== c.size) throw integrityError(`chunk ${c.index}: ${d.size} plaintext bytes, manifest says ${c.size}`);
  if (d.sha256.toString('hex') !== c.sha256) throw integrityError(`chunk ${c.index}: SHA-256 mismatch`);
  if (d.sha3_256.toString('hex') !== c.sha3_256) throw integrityError(`chunk ${c.index}: SHA3-256 mismatch`);
  const link = chainStep(previous, d.sha256, d.sha3_256);
  if (link.toString('hex') !== c.chain) throw integrityError(`chunk ${c.index}: chain link mismatch (chunk replaced, reordered or from another stream)`);
  return link;
}
