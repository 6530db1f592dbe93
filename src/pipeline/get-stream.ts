import { chainStep } from '../crypto/chain.js';
import { DualHash } from '../crypto/dual-hash.js';
import type { StreamCodec } from '../crypto/stream-codec.js';
import { integrityError } from '../errors.js';
import type { StreamLayout } from '../format/layout.js';
import type { ChunkRecord, Manifest } from '../format/manifest.js';
import type { Store } from '../store/store.js';
import { orderedPrefetch } from './ordered-prefetch.js';

/** Where restored bytes go; `write` resolves when the sink can take more (backpressure). */
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
}

/** Reads of `rangeSize`-byte ranges covering each object in turn, for orderedPrefetch. */
export function* rangeReads<T>(store: Store, objects: Iterable<RangedObject<T>>, rangeSize: number): Generator<() => Promise<RangePiece<T>>> {
  for (const o of objects) {
    if (o.size === 0) {
      yield async () => ({ tag: o.tag, bytes: Buffer.alloc(0), endOfObject: true });
      continue;
    }
    for (let start = 0; start < o.size; start += rangeSize) {
      const end = Math.min(o.size, start + rangeSize);
      yield async () => ({ tag: o.tag, bytes: await store.get(o.key, { start, end }), endOfObject: end === o.size });
    }
  }
}

/**
 * Streams a stream back in order, verifying as it goes: each segment's authentication before
 * its plaintext is written, then each chunk's size, hashes and chain link, then the count and
 * whole-stream hashes. Throws an integrity error naming the chunk and the check that failed.
 */
export async function getStream(p: GetStreamParams): Promise<void> {
  const m = p.manifest;
  const last = m.chunks.length - 1;
  const streamHash = new DualHash();
  let chain = p.codec.chainKey;
  let hash = new DualHash();
  const isLast = (i: number) => (p.partial ? p.partial.lastMarks[i]! : i === last);
  let decoder = p.codec.decoder(0, isLast(0));
  let stored = 0;

  const emit = async (pieces: Buffer[]) => {
    for (const b of pieces) {
      if (!b.length) continue;
      hash.update(b);
      streamHash.update(b);
      await p.sink.write(b);
      p.onWritten?.(b.length);
    }
  };

  const objects = m.chunks.map((c) => ({ key: p.layout.chunk(c.index), size: c.storedSize, tag: c }));
  for await (const piece of orderedPrefetch(rangeReads(p.store, objects, p.rangeSize), p.concurrency)) {
    const c = piece.tag;
    stored += piece.bytes.length;
    await emit(decoder.update(piece.bytes));
    if (!piece.endOfObject) continue;
    if (stored !== c.storedSize) throw integrityError(`chunk ${c.index}: stored object has ${stored} bytes, manifest says ${c.storedSize}`);
    await emit(decoder.final());
    verifyChunk(c, hash, chain);
    p.onChunkVerified?.(c);
    chain = Buffer.from(c.chain, 'hex');
    if (c.index < last) {
      hash = new DualHash();
      decoder = p.codec.decoder(c.index + 1, isLast(c.index + 1));
    }
    stored = 0;
  }
  if (p.partial) return;
  const d = streamHash.digest();
  if (streamHash.size !== m.stream.size) throw integrityError(`stream: ${streamHash.size} bytes restored, manifest says ${m.stream.size}`);
  if (d.sha256.toString('hex') !== m.stream.sha256) throw integrityError('stream: SHA-256 of the whole stream does not match the manifest');
  if (d.sha3_256.toString('hex') !== m.stream.sha3_256) throw integrityError('stream: SHA3-256 of the whole stream does not match the manifest');
  if (chain.toString('hex') !== m.stream.chain) throw integrityError('stream: final chain value does not match the manifest');
}

/** Checks one chunk's plaintext against its record and recomputes its chain link. */
function verifyChunk(c: ChunkRecord, hash: DualHash, previous: Buffer): void {
  const d = hash.digest();
  if (hash.size !== c.size) throw integrityError(`chunk ${c.index}: ${hash.size} plaintext bytes, manifest says ${c.size}`);
  if (d.sha256.toString('hex') !== c.sha256) throw integrityError(`chunk ${c.index}: SHA-256 mismatch`);
  if (d.sha3_256.toString('hex') !== c.sha3_256) throw integrityError(`chunk ${c.index}: SHA3-256 mismatch`);
  const link = chainStep(previous, d.sha256, d.sha3_256);
  if (link.toString('hex') !== c.chain) throw integrityError(`chunk ${c.index}: chain link mismatch (chunk replaced, reordered or from another stream)`);
}
