import { chainStep } from '../crypto/chain.js';
import { DualHash } from '../crypto/dual-hash.js';
import type { StreamCodec } from '../crypto/stream-codec.js';
import { failure } from '../errors.js';
import type { StreamLayout } from '../format/layout.js';
import { MANIFEST_VERSION, type ChunkRecord, type Manifest, type SourceInfo } from '../format/manifest.js';
import type { Store } from '../store/store.js';
import type { ByteReader } from './byte-reader.js';
import type { JournalChunk } from '../resume/journal-format.js';
import { ExitCode, S3ductError } from '../errors.js';
import { crashPoint } from '../resume/crash-points.js';

/** Plaintext is handed to the encoder in pieces of at most this size (1 MiB balances per-call
 *  overhead against memory held per chunk in flight). */
const READ_PIECE = 1 << 20;

export const CHUNK_CONTENT_TYPE = 'application/x-s3duct-chunk';
export const MANIFEST_CONTENT_TYPE = 'application/x-s3duct-manifest';

export interface PutEvents {
  onRead?(bytes: number): void;
  onAcked?(bytes: number): void;
  /** Called once per chunk, in index order, after the store acknowledged it. */
  onChunkStored?(record: JournalChunk): Promise<void> | void;
  /** Called per chunk an interrupted put had stored, once the input was checked against it. */
  onChunkVerified?(record: JournalChunk): void;
}

export interface PutStreamParams {
  readonly store: Store;
  readonly layout: StreamLayout;
  readonly name: string;
  readonly streamId: Buffer;
  readonly codec: StreamCodec;
  readonly input: ByteReader;
  readonly chunkSize: number;
  readonly storageClass: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Chunk objects uploading at once. */
  readonly concurrency: number;
  readonly source: SourceInfo;
  readonly events?: PutEvents;
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
 */
export async function putStream(p: PutStreamParams): Promise<Manifest> {
  const createdAt = new Date().toISOString();
  const streamHash = new DualHash();
  let chain = p.codec.chainKey;
  const acked = new Map<number, JournalChunk>();
  const records: JournalChunk[] = [];
  const inflight = new Set<Promise<void>>();
  let failed: { error: unknown } | undefined;
  let commitQueue = Promise.resolve();

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

  let finished = false;
  for (const rec of p.resume ?? []) {
    const hash = new DualHash();
    for (let remaining = p.chunkSize; remaining > 0; ) {
      const piece = await p.input.read(Math.min(remaining, READ_PIECE));
      if (!piece) break;
      remaining -= piece.length;
      hash.update(piece);
      streamHash.update(piece);
      p.events?.onRead?.(piece.length);
    }
    const isLast = await p.input.atEOF();
    const d = hash.digest();
    const diverged = (why: string) =>
      new ResumeDivergedError(`resume: chunk ${rec.index} of the input differs from what the interrupted put stored (${why}): the source changed`, rec.index);
    const sameHashes = d.sha256.toString('hex') === rec.sha256 && d.sha3_256.toString('hex') === rec.sha3_256;
    if (hash.size === rec.size && !sameHashes) throw diverged('hashes differ');
    if (isLast && !rec.last) {
      const whole = rec.index + (hash.size === rec.size ? 1 : 0);
      throw new ResumeDivergedError(`resume: the input ended after ${whole} chunks, but the interrupted put had stored ${p.resume!.length}`, rec.index);
    }
    if (hash.size !== rec.size) throw diverged(`${hash.size} bytes, stored ${rec.size}`);
    if (!isLast && rec.last) throw diverged('the input goes on past the stored last chunk');
    chain = chainStep(chain, d.sha256, d.sha3_256);
    if (chain.toString('hex') !== rec.chain) throw diverged('chain differs: the journal belongs to another key or is damaged');
    records.push(rec);
    p.events?.onChunkVerified?.(rec);
    if (isLast) finished = true;
  }

  for (let index = records.length; !finished; index++) {
    const hash = new DualHash();
    const encoder = p.codec.encoder(index);
    let isLast = false;
    let signalBodyDone!: () => void;
    const bodyDone = new Promise<void>((r) => (signalBodyDone = r));
    const input = p.input;
    const chunkSize = p.chunkSize;
    async function* body(): AsyncGenerator<Buffer> {
      yield* encoder.start();
      let remaining = chunkSize;
      while (remaining > 0) {
        const piece = await input.read(Math.min(remaining, READ_PIECE));
        if (!piece) break;
        remaining -= piece.length;
        hash.update(piece);
        streamHash.update(piece);
        p.events?.onRead?.(piece.length);
        yield* encoder.update(piece);
      }
      isLast = await input.atEOF();
      yield* encoder.final(isLast);
      signalBodyDone();
    }
    const upload = p.store.put(p.layout.chunk(index), body(), {
      storageClass: p.storageClass,
      contentType: CHUNK_CONTENT_TYPE,
      tags: p.tags,
      onAcked: p.events?.onAcked,
    });
    upload.catch(() => {});
    try {
      await Promise.race([bodyDone, upload]);
    } catch (error) {
      failed ??= { error };
      break;
    }
    const d = hash.digest();
    chain = chainStep(chain, d.sha256, d.sha3_256);
    const partial = {
      index,
      size: hash.size,
      sha256: d.sha256.toString('hex'),
      sha3_256: d.sha3_256.toString('hex'),
      chain: chain.toString('hex'),
    };
    const expectedStored = p.codec.storedSize(hash.size);
    const tracked: Promise<void> = upload
      .then((res) => {
        if (res.size !== expectedStored) throw failure(`chunk ${index}: store acknowledged ${res.size} bytes, expected ${expectedStored}`);
        acked.set(index, { ...partial, storedSize: res.size, ...(res.etag ? { etag: res.etag } : {}), last: isLast });
        return commit();
      })
      .catch((error) => {
        failed ??= { error };
      })
      .finally(() => inflight.delete(tracked));
    inflight.add(tracked);
    if (isLast) break;
    while (inflight.size >= p.concurrency && !failed) await Promise.race(inflight);
    if (failed) break;
  }
  await Promise.all(inflight);
  await commitQueue;
  if (failed) throw failed.error;

  const totals = streamHash.digest();
  const manifest: Manifest = {
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
      size: streamHash.size,
      chunks: records.length,
      sha256: totals.sha256.toString('hex'),
      sha3_256: totals.sha3_256.toString('hex'),
      chain: chain.toString('hex'),
    },
  };
  crashPoint('before-manifest');
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
