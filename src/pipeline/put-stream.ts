import { AsyncQueue } from './async-queue.js';
import { SLAB_HEADROOM, SlabPool } from './slab-pool.js';
import { CryptoPool, type CryptoJob } from './crypto-pool.js';
import { settledLater } from './settled-later.js';
import { chainStep } from '../crypto/chain.js';
import type { StreamCodec } from '../crypto/stream-codec.js';
import type { StreamLayout } from '../format/layout.js';
import { MANIFEST_VERSION, type ChunkRecord, type ManifestV2, type SourceInfo } from '../format/manifest.js';
import { chunkListDigests } from '../format/stream-digest.js';
import type { Store } from '../store/store.js';
import { PositionalInput, type ChunkInput } from './chunk-input.js';
import type { JournalChunk } from '../resume/journal-format.js';
import { ExitCode, S3ductError, failure, integrityError } from '../errors.js';
import { crashPoint } from '../resume/crash-points.js';

/** Plaintext goes to the workers in pieces of this size: large enough that message overhead
 *  is negligible, small enough that the read-ahead budget holds many. */
const READ_PIECE = 1 << 20;
/** Default read-ahead in READ_PIECE slabs: plaintext read but not yet hashed and encoded. As
 *  many output slabs hold encoded pieces until the store has taken them. */
export const DEFAULT_READ_AHEAD_SLABS = 16;

export const CHUNK_CONTENT_TYPE = 'application/x-s3duct-chunk';
export const MANIFEST_CONTENT_TYPE = 'application/x-s3duct-manifest';

export interface PutEvents {
  onRead?(bytes: number): void;
  onAcked?(bytes: number): void;
  /** Called once per chunk, in index order, after the store acknowledged it. */
  onChunkStored?(record: JournalChunk): Promise<void> | void;
  /** Called per chunk an interrupted put had stored, once the input was checked against it. */
  onChunkVerified?(record: JournalChunk): void;
  /** Awaited before each chunk object becomes visible in the store: may still refuse it. */
  beforeChunkCommit?(): Promise<void>;
  /** Called once every chunk is stored, before the manifest is written: may still refuse. */
  beforeManifest?(): Promise<void>;
}

export interface PutStreamParams {
  readonly store: Store;
  readonly layout: StreamLayout;
  readonly name: string;
  readonly streamId: Buffer;
  readonly codec: StreamCodec;
  readonly input: ChunkInput;
  readonly chunkSize: number;
  readonly storageClass: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Chunk objects uploading at once. */
  readonly concurrency: number;
  readonly source: SourceInfo;
  readonly events?: PutEvents;
  /** Slabs of plaintext read but not yet encoded (default: 16 of 1 MiB); as many output slabs
   *  (a little larger) hold encoded pieces until the store has taken them. */
  readonly readAhead?: SlabPool;
  /** Chunks an interrupted put of this stream already stored: the input is re-read and checked
   *  against them instead of being uploaded again. */
  readonly resume?: readonly JournalChunk[];
}

/** The input no longer matches what an interrupted put stored. */
export class ResumeDivergedError extends S3ductError {
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message, ExitCode.integrity);
  }
}

/**
 * chunk → dual hash → chain → encode → upload, in parallel with backpressure: the input is
 * read only as fast as the store takes the encoded bytes. Returns the manifest once every
 * chunk and the manifest itself are stored.
 *
 * Threads: each chunk's hashes and encoding run on two lanes of the pool (see CryptoPool)
 * while this thread reads and stores. A positional input is read several chunks at once, one
 * per lane; a sequential one is cut chunk after chunk. Memory: each piece holds a read-ahead
 * slab until the workers are done with it, then an output slab until the store has taken its
 * encoded bytes, whatever the chunk size.
 */
export async function putStream(p: PutStreamParams): Promise<ManifestV2> {
  const pool = new CryptoPool(undefined, undefined, p.input instanceof PositionalInput ? 'several' : 'one');
  try {
    return await putWithPool(p, pool);
  } finally {
    await pool.close();
  }
}

interface Encoded {
  readonly out: Buffer;
  /** Called once the store has taken `out`. */
  readonly taken: () => void;
}

async function putWithPool(p: PutStreamParams, pool: CryptoPool): Promise<ManifestV2> {
  const createdAt = new Date().toISOString();
  const slabs = p.readAhead ?? new SlabPool(READ_PIECE, DEFAULT_READ_AHEAD_SLABS);
  // Encoded pieces go to slabs too, not to fresh buffers: those are freed only when the main
  // thread next collects garbage, and glibc keeps the resulting high-water mark resident.
  const outSlabs = new SlabPool(slabs.slabSize + SLAB_HEADROOM, slabs.count);
  const positional = p.input instanceof PositionalInput ? p.input : undefined;
  const sequential = p.input instanceof PositionalInput ? undefined : p.input;
  /** The last chunk's index when the input's size is known. */
  const lastIndex = positional ? Math.max(0, Math.ceil(positional.size / p.chunkSize) - 1) : undefined;
  let chain: Promise<Buffer> = Promise.resolve(p.codec.chainKey);
  const acked = new Map<number, JournalChunk>();
  const records: JournalChunk[] = [];
  const inflight = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  let commitQueue = Promise.resolve();
  const fail = (error: unknown) => {
    failed ??= { error };
    // A reader waiting for a slab must not wait forever.
    slabs.abort(failed.error);
    outSlabs.abort(failed.error);
  };

  // Records reach onChunkStored strictly in order, whatever order the uploads finish in.
  const commit = () => {
    commitQueue = commitQueue.then(async () => {
      while (acked.has(records.length)) {
        const rec = acked.get(records.length)!;
        acked.delete(rec.index);
        records.push(rec);
        await p.events?.onChunkStored?.(rec);
      }
    });
    return commitQueue;
  };

  /** Reads one chunk's plaintext, handing each piece to the workers; ends once it is read.
   *  On failure the chunk's body fails too, so the store discards the partial object. */
  const readChunk = async (index: number, job: CryptoJob, queue: AsyncQueue<Promise<Encoded>>) => {
    try {
      return await readPieces(index, job, queue);
    } catch (error) {
      queue.push(settledLater(Promise.reject(error)));
      queue.end();
      throw error;
    }
  };
  /** Reads up to one chunk of input into read-ahead slabs; `each` gets every piece and must
   *  release its slab once the piece's work is done. Resolves whether the input ended. */
  const readChunkPieces = async (index: number, each: (piece: Uint8Array, slab: Uint8Array) => Promise<void> | void): Promise<boolean> => {
    const start = index * p.chunkSize;
    const end = positional ? Math.min(positional.size, start + p.chunkSize) : start + p.chunkSize;
    const range = positional?.range(start, end);
    const reader = range ?? sequential!;
    let remaining = end - start;
    try {
      while (remaining > 0) {
        const want = Math.min(remaining, slabs.slabSize);
        const slab = await slabs.acquire();
        const piece = await reader.readInto(slab.subarray(0, want)).catch(inputError);
        if (!piece.length) {
          slabs.release(slab);
          break;
        }
        remaining -= piece.length;
        p.events?.onRead?.(piece.length);
        await each(piece, slab);
        if (piece.length < want) break;
      }
    } finally {
      await range?.close();
    }
    if (sequential) return sequential.atEOF();
    // Later chunks are being read already: a shorter file cannot be cut differently now.
    // Not an interruption a rerun continues: the chunks stored were cut from the longer file.
    if (remaining > 0) throw integrityError(`the input file shrank while it was read: chunk ${index} ended ${remaining} bytes short; the backup is not complete: run it again with --restart once the file no longer changes`);
    return index === lastIndex;
  };
  const readPieces = async (index: number, job: CryptoJob, queue: AsyncQueue<Promise<Encoded>>) => {
    const isLast = await readChunkPieces(index, async (piece, slab) => {
      const into = await outSlabs.acquire();
      let taken!: () => void;
      const takenByStore = new Promise<void>((r) => (taken = r));
      const encoded = job.step(piece, into);
      encoded.then(() => slabs.release(slab), fail);
      Promise.all([encoded, takenByStore]).then(() => outSlabs.release(into), fail);
      queue.push(settledLater(encoded.then((out) => ({ out, taken }))));
    });
    const final = settledLater(job.finish(isLast));
    queue.push(settledLater(final.then((f) => ({ out: f.out, taken: () => {} }))));
    queue.end();
    return { isLast, final };
  };

  let finished = false;
  for (const rec of p.resume ?? []) {
    // Re-read what the interrupted put stored: hashed on the same lanes, never uploaded.
    const hash = pool.chunkHasher(rec.index);
    const isLast = await readChunkPieces(rec.index, (piece, slab) => {
      hash.step(piece).then(() => slabs.release(slab), fail);
    });
    const d = (await hash.finish(isLast)).digest;
    if (failed) throw failed.error;
    const diverged = (why: string) =>
      new ResumeDivergedError(`resume: chunk ${rec.index} of the input differs from what the interrupted put stored (${why}): the source changed`, rec.index);
    const sameHashes = d.sha256.toString('hex') === rec.sha256 && d.sha3_256.toString('hex') === rec.sha3_256;
    if (d.size === rec.size && !sameHashes) throw diverged('hashes differ');
    if (isLast && !rec.last) {
      const whole = rec.index + (d.size === rec.size ? 1 : 0);
      throw new ResumeDivergedError(`resume: the input ended after ${whole} chunks, but the interrupted put had stored ${p.resume!.length}`, rec.index);
    }
    if (d.size !== rec.size) throw diverged(`${d.size} bytes, stored ${rec.size}`);
    if (!isLast && rec.last) throw diverged('the input goes on past the stored last chunk');
    const link = chainStep(await chain, d.sha256, d.sha3_256);
    if (link.toString('hex') !== rec.chain) throw diverged('chain differs: the journal belongs to another key or is damaged');
    chain = Promise.resolve(link);
    records.push(rec);
    p.events?.onChunkVerified?.(rec);
    if (isLast) finished = true;
  }

  /** Chunks of a positional input being read right now: at most one per lane. */
  const reading = new Set<Promise<unknown>>();
  for (let index = records.length; !finished && !failed; index++) {
    const job = pool.encoder(p.codec, index);
    const queue = new AsyncQueue<Promise<Encoded>>();
    async function* body(): AsyncGenerator<Buffer> {
      for await (const next of queue) {
        const e = await next;
        yield e.out;
        e.taken();
      }
    }
    const upload = settledLater(
      p.store.put(p.layout.chunk(index), body(), {
        storageClass: p.storageClass,
        contentType: CHUNK_CONTENT_TYPE,
        tags: p.tags,
        onAcked: p.events?.onAcked,
        beforeCommit: p.events?.beforeChunkCommit,
      }),
    );
    const readDone = settledLater(readChunk(index, job, queue));
    // An upload that fails early must not leave us waiting for slabs nobody releases.
    const read = settledLater(Promise.race([readDone, upload.then(() => readDone)]));
    const final = settledLater(read.then((r) => r.final));
    const linked = (chain = settledLater(Promise.all([chain, final]).then(([prev, f]) => chainStep(prev, f.digest.sha256, f.digest.sha3_256))));
    // Settled first, so a failed read still lets the store discard the partial object before we report.
    const tracked: Promise<void> = Promise.allSettled([upload, read])
      .then(() => Promise.all([upload, read, final, linked]))
      .then(([res, r, f, link]) => {
        const size = f.digest.size;
        const expectedStored = p.codec.storedSize(size);
        if (res.size !== expectedStored) throw failure(`chunk ${index}: store acknowledged ${res.size} bytes, expected ${expectedStored}`);
        acked.set(index, {
          index,
          size,
          sha256: f.digest.sha256.toString('hex'),
          sha3_256: f.digest.sha3_256.toString('hex'),
          chain: link.toString('hex'),
          storedSize: res.size,
          ...(res.etag ? { etag: res.etag } : {}),
          last: r.isLast,
        });
        return commit();
      })
      .catch(fail)
      .finally(() => inflight.delete(tracked));
    inflight.add(tracked);
    let isLast: boolean;
    if (positional) {
      isLast = index === lastIndex;
      const r: Promise<unknown> = read.catch(fail).finally(() => reading.delete(r));
      reading.add(r);
      while (reading.size >= pool.lanes && !failed) await Promise.race(reading);
    } else {
      try {
        isLast = (await read).isLast;
      } catch (error) {
        fail(error);
        break;
      }
    }
    if (isLast) break;
    while (inflight.size >= p.concurrency && !failed) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await commitQueue;
  if (failed) throw failed.error;

  const finalChain = await chain;
  const manifest: ManifestV2 = {
    format: 's3duct',
    version: MANIFEST_VERSION,
    streamId: p.streamId.toString('hex'),
    name: p.name,
    createdAt,
    completedAt: new Date().toISOString(),
    chunkSize: p.chunkSize,
    encryption: p.codec.encryption,
    storageClass: p.storageClass,
    tags: p.tags,
    source: p.source,
    chunks: records.map(({ last: _last, ...r }) => r as ChunkRecord),
    stream: {
      size: records.reduce((n, r) => n + r.size, 0),
      chunks: records.length,
      ...chunkListDigests(records),
      chain: finalChain.toString('hex'),
    },
  };
  crashPoint('before-manifest');
  await p.events?.beforeManifest?.();
  // The manifest stays STANDARD whatever the chunks' class, so a cold stream stays listable.
  await p.store.put(p.layout.manifest, oneShot(p.codec.sealManifest(manifest)), {
    storageClass: 'STANDARD',
    contentType: MANIFEST_CONTENT_TYPE,
    metadata: { s3duct: String(MANIFEST_VERSION) },
  });
  return manifest;
}

export async function* oneShot(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** A read error of the input (EIO, a vanished file) as one line; put adds how to resume. */
function inputError(e: unknown): never {
  if (e instanceof S3ductError) throw e; // a stop on a signal, already worded
  throw failure(`cannot read the input: ${(e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? e}`);
}
