import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BOTH_DIGESTS, type DigestName, type Digests } from '../crypto/dual-hash.js';
import type { ChunkCodecSpec, StreamCodec } from '../crypto/stream-codec.js';
import { S3ductError, failure, type ExitCodeValue } from '../errors.js';
import type { JobKind, WorkerReply, WorkerRequest } from './crypto-protocol.js';
import { embeddedWorkerSource, type EmbeddedWorker } from './embedded-worker.js';

export interface JobDigest extends Digests {
  readonly size: number;
}

export interface JobFinish {
  /** The job's last output bytes (an encoder's final segment, a decoder's last plaintext). */
  readonly out: Buffer;
  readonly digest: JobDigest;
}

/**
 * One chunk's (or the whole stream's) crypto work, run on a worker thread. Steps may be sent
 * without awaiting the previous one: their promises resolve in the order the steps were sent.
 * `bytes` (and `into`) should be shared memory (slabs) and must stay untouched until the step
 * settles. The output is written into `into` where it fits (the result is then a view of it),
 * else it comes in a fresh buffer.
 */
export interface CryptoJob {
  step(bytes: Uint8Array, into?: Uint8Array): Promise<Buffer>;
  finish(isLast: boolean, into?: Uint8Array): Promise<JobFinish>;
}

/** Chunk lanes: one worker thread per core, up to this many (see CryptoPool). */
const MAX_CHUNK_LANES = 4;

export function defaultChunkLanes(): number {
  return Math.max(1, Math.min(MAX_CHUNK_LANES, availableParallelism()));
}

/** A function, not a constant: the single executable's CommonJS bundle has no import.meta.url
 *  (and uses its embedded worker instead, see embedded-worker.ts). */
const defaultWorker = (): URL => new URL('./crypto-worker.js', import.meta.url);

/** Copies bytes into shared memory so two threads can read them without a copy each. */
export function shareBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(b.length));
  out.set(b);
  return out;
}

/** Shared memory is passed as is; anything else would be cloned with its whole backing buffer. */
function shared(b: Uint8Array): Uint8Array {
  return b.buffer instanceof SharedArrayBuffer ? b : shareBytes(b);
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** A spec's byte arrays may be views into larger (pooled) buffers, which structured clone
 *  would copy whole: pass exact copies. */
function exactSpec(spec: ChunkCodecSpec): ChunkCodecSpec {
  return Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, v instanceof Uint8Array ? Uint8Array.from(v) : v])) as ChunkCodecSpec;
}

function replyError(r: Extract<WorkerReply, { ok: false }>): S3ductError {
  return r.exitCode !== undefined ? new S3ductError(r.message, r.exitCode as ExitCodeValue) : failure(`crypto worker: ${r.message}`);
}

type Pending = { resolve: (r: Extract<WorkerReply, { ok: true }>) => void; reject: (e: unknown) => void };

/** One worker thread and the requests awaiting its replies. */
class WorkerLane {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private dead: S3ductError | undefined;

  constructor(private readonly source: URL | EmbeddedWorker) {}

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = this.source instanceof URL ? new Worker(this.source) : new Worker(this.source.code, { eval: true });
    w.unref(); // referenced only while requests are pending (see request)
    w.on('message', (r: WorkerReply) => {
      const p = this.pending.get(r.req);
      if (!p) return;
      this.pending.delete(r.req);
      if (!this.pending.size) w.unref();
      if (r.ok) p.resolve(r);
      else p.reject(replyError(r));
    });
    w.on('error', (e) => this.fail(failure(`crypto worker failed: ${e.message}`)));
    w.on('exit', (code) => this.fail(failure(`crypto worker stopped unexpectedly (exit code ${code})`)));
    return (this.worker = w);
  }

  /** Rejects everything pending, and every later request: no caller waits on a dead thread. */
  private fail(e: S3ductError): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  post(m: WorkerRequest, transfer: ArrayBuffer[] = []): void {
    if (this.dead) return;
    this.start().postMessage(m, transfer);
  }

  request(req: number, m: WorkerRequest): Promise<Extract<WorkerReply, { ok: true }>> {
    if (this.dead) return Promise.reject(this.dead);
    const w = this.start();
    return new Promise((resolve, reject) => {
      if (!this.pending.size) w.ref();
      this.pending.set(req, { resolve, reject });
      w.postMessage(m);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.fail(failure('crypto pool closed'));
    if (w) await w.terminate();
  }
}

/** One job's output with the digests it was asked for (some of a chunk's, or all). */
interface PartialFinish {
  readonly out: Buffer;
  readonly size: number;
  readonly digests: Partial<Digests>;
}

/** A job as one thread runs it; CryptoPool joins a chunk's two halves into a CryptoJob. */
interface HalfJob {
  step(bytes: Uint8Array, into?: Uint8Array): Promise<Buffer>;
  finish(isLast: boolean, into?: Uint8Array): Promise<PartialFinish>;
}

const NO_CODEC: ChunkCodecSpec = { mode: 'none' };

/** The digests of two halves computed over the same plaintext, as one. */
function joined(main: PartialFinish, other?: PartialFinish): JobFinish {
  const sha256 = main.digests.sha256 ?? other?.digests.sha256;
  const sha3_256 = main.digests.sha3_256 ?? other?.digests.sha3_256;
  if (other && other.size !== main.size) throw failure(`crypto workers hashed ${main.size} and ${other.size} bytes of the same chunk`);
  if (!sha256 || !sha3_256) throw failure('crypto worker: a digest is missing');
  return { out: main.out, digest: { sha256, sha3_256, size: main.size } };
}

/**
 * The worker threads of one put or get. Pure crypto stays in src/crypto; this module only
 * moves bytes and results between threads.
 *
 * Each chunk runs on two lanes: its cipher and SHA-256 on one, its SHA3-256 on the next
 * (see the constructor for which). SHA3-256 costs about twice as much as the other two together and, like them,
 * is sequential within a chunk: split this way, a single chunk (a pipe's input, or a restore
 * written in order) keeps two cores busy, and two chunks at once still load every lane evenly.
 */
export class CryptoPool {
  /** Threads start on first use, so a pool costs nothing until it is given work. */
  private readonly chunkLanes: WorkerLane[];
  /** Whole-stream hashes of a format version 1 stream (get only). */
  private readonly streamLane: WorkerLane;
  private nextJob = 0;
  private nextReq = 0;

  constructor(
    workerUrl?: URL,
    chunkLanes = defaultChunkLanes(),
    /**
     * 'several': chunks are worked on at once (a file read at offsets), and chunk i's two
     * halves go to lanes i and i+1, so concurrent chunks load the lanes evenly. 'one': chunks
     * come one after another (a pipe, a restore in order); chunk i uses lanes 2i and 2i+1, so
     * with two lanes each keeps its role and a new chunk never queues behind the last one's
     * SHA3-256 backlog (measured: restores about 5% faster).
     */
    private readonly chunksAtOnce: 'one' | 'several' = 'several',
  ) {
    const source = workerUrl ?? embeddedWorkerSource() ?? defaultWorker();
    this.chunkLanes = Array.from({ length: chunkLanes }, () => new WorkerLane(source));
    this.streamLane = new WorkerLane(source);
  }

  get lanes(): number {
    return this.chunkLanes.length;
  }

  /** Chunk `index`'s lane for its cipher and SHA-256 (half 0) or its SHA3-256 (half 1). */
  private laneOf(index: number, half: 0 | 1): WorkerLane {
    const first = this.chunksAtOnce === 'one' ? 2 * index : index;
    return this.chunkLanes[(first + half) % this.chunkLanes.length]!;
  }

  /** Encodes chunk `index`, hashing its plaintext. */
  encoder(codec: StreamCodec, index: number): CryptoJob {
    return this.withSha3Alongside(this.job(this.laneOf(index, 0), 'encode', codec.chunkSpec, index, false, ['sha256']), index);
  }

  /** Decodes chunk `index`, hashing its plaintext, which goes into `into` where it fits. */
  decoder(codec: StreamCodec, index: number, isLast: boolean): CryptoJob {
    const main = this.job(this.laneOf(index, 0), 'decode', codec.chunkSpec, index, isLast, ['sha256']);
    // The plaintext exists only once decoded: its SHA3-256 follows piece by piece, while the
    // main lane decodes the next piece.
    const sha3 = this.job(this.laneOf(index, 1), 'hash', NO_CODEC, index, false, ['sha3_256']);
    const hashed = (plain: Buffer) => (plain.length ? sha3.step(plain) : Promise.resolve()).then(() => plain);
    return {
      step: (b, into) => main.step(b, into).then(hashed),
      finish: (isLast, into) => main.finish(isLast, into).then(async (m) => joined({ ...m, out: await hashed(m.out) }, await sha3.finish(isLast))),
    };
  }

  /** SHA-256 and SHA3-256 of chunk `index`'s plaintext, on that chunk's two lanes. */
  chunkHasher(index: number): CryptoJob {
    return this.withSha3Alongside(this.job(this.laneOf(index, 0), 'hash', NO_CODEC, index, false, ['sha256']), index);
  }

  /** SHA-256 and SHA3-256 of a whole stream, on a thread of its own. */
  streamHasher(): CryptoJob {
    const job = this.job(this.streamLane, 'hash', NO_CODEC, 0, false, BOTH_DIGESTS);
    return { step: (b) => job.step(b), finish: (isLast) => job.finish(isLast).then((f) => joined(f)) };
  }

  /** `main` and the chunk's SHA3-256 read the same shared input at the same time. */
  private withSha3Alongside(main: HalfJob, index: number): CryptoJob {
    const sha3 = this.job(this.laneOf(index, 1), 'hash', NO_CODEC, index, false, ['sha3_256']);
    return {
      step: (b, into) => {
        const bytes = shared(b);
        return Promise.all([main.step(bytes, into), sha3.step(bytes)]).then(([out]) => out);
      },
      finish: (isLast, into) => Promise.all([main.finish(isLast, into), sha3.finish(isLast)]).then(([m, h]) => joined(m, h)),
    };
  }

  private job(l: WorkerLane, kind: JobKind, spec: ChunkCodecSpec, index: number, isLast: boolean, digests: readonly DigestName[]): HalfJob {
    const job = this.nextJob++;
    l.post({ op: 'open', job, kind, spec: exactSpec(spec), index, isLast, digests });
    const call = (m: (req: number) => WorkerRequest, into: Uint8Array | undefined) => {
      const req = this.nextReq++;
      return l.request(req, m(req)).then((r) => ({ r, out: typeof r.out === 'number' ? asBuffer(into!.subarray(0, r.out)) : asBuffer(r.out) }));
    };
    return {
      step: (b, into) => {
        const bytes = shared(b);
        return call((req) => ({ op: 'step', job, req, bytes, into }), into).then((x) => x.out);
      },
      finish: (last, into) =>
        call((req) => ({ op: 'finish', job, req, isLast: last, into }), into).then(({ r, out }) => {
          const { size, sha256, sha3_256 } = r.digest!;
          return { out, size, digests: { ...(sha256 && { sha256: asBuffer(sha256) }), ...(sha3_256 && { sha3_256: asBuffer(sha3_256) }) } };
        }),
    };
  }

  /** Stops the threads; anything still pending rejects. */
  async close(): Promise<void> {
    await Promise.all([...this.chunkLanes, this.streamLane].map((l) => l.close()));
  }
}
