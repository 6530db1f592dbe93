import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Digests } from '../crypto/dual-hash.js';
import type { ChunkCodecSpec, CodecOutput, StreamCodec } from '../crypto/stream-codec.js';
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
 * settles. With `into`, the output is written there and the result is a view of it; without,
 * the output comes in a fresh buffer.
 */
export interface CryptoJob {
  step(bytes: Uint8Array, into?: Uint8Array): Promise<Buffer>;
  finish(isLast: boolean, into?: Uint8Array): Promise<JobFinish>;
}

/**
 * Chunk lanes: one worker thread per core, up to this many. A chunk's hashes are sequential
 * (one core's SHA3-256 rate at most), so using more cores means working on several chunks at
 * once; each chunk runs on lane `index % lanes`.
 */
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

/**
 * The worker threads of one put or get. Pure crypto stays in src/crypto; this module only
 * moves bytes and results between threads. Codecs without a chunkSpec run on the calling
 * thread, with their hashing still on the chunk lane.
 */
export class CryptoPool {
  /** Threads start on first use, so a pool costs nothing until it is given work. */
  private readonly chunkLanes: WorkerLane[];
  /** Whole-stream hashes of a format version 1 stream (get only). */
  private readonly streamLane: WorkerLane;
  private nextJob = 0;
  private nextReq = 0;

  constructor(workerUrl?: URL, chunkLanes = defaultChunkLanes()) {
    const source = workerUrl ?? embeddedWorkerSource() ?? defaultWorker();
    this.chunkLanes = Array.from({ length: chunkLanes }, () => new WorkerLane(source));
    this.streamLane = new WorkerLane(source);
  }

  get lanes(): number {
    return this.chunkLanes.length;
  }

  private laneOf(index: number): WorkerLane {
    return this.chunkLanes[index % this.chunkLanes.length]!;
  }

  /** Encodes chunk `index` on its lane, hashing its plaintext. */
  encoder(codec: StreamCodec, index: number): CryptoJob {
    if (codec.chunkSpec) return this.job(this.laneOf(index), 'encode', codec.chunkSpec, index, false);
    const e = codec.encoder(index);
    const hash = this.chunkHasher(index);
    let head: Promise<Buffer[]> | undefined = Promise.resolve(e.start());
    const withHead = async (out: CodecOutput) => {
      const pieces = head ? [...(await head), ...(await out)] : await out;
      head = undefined;
      return Buffer.concat(pieces);
    };
    return {
      step: (b) => Promise.all([withHead(e.update(Buffer.from(b))), hash.step(b)]).then(([out]) => out),
      finish: async (isLast) => ({ out: await withHead(e.final(isLast)), digest: (await hash.finish(isLast)).digest }),
    };
  }

  /** Decodes chunk `index` on its lane, hashing its plaintext, which goes into `into`. */
  decoder(codec: StreamCodec, index: number, isLast: boolean): CryptoJob {
    if (codec.chunkSpec) return this.job(this.laneOf(index), 'decode', codec.chunkSpec, index, isLast);
    const d = codec.decoder(index, isLast);
    const hash = this.chunkHasher(index);
    const hashed = async (out: CodecOutput, into: Uint8Array | undefined) => {
      const plain = Buffer.concat(await out);
      const view = into ? asBuffer(into.subarray(0, plain.length)) : plain;
      if (into) plain.copy(view);
      await hash.step(view);
      return view;
    };
    return {
      step: (b, into) => hashed(d.update(Buffer.from(b)), into),
      finish: async (isLast, into) => ({ out: await hashed(d.final(), into), digest: (await hash.finish(isLast)).digest }),
    };
  }

  /** A bare SHA-256 + SHA3-256 of chunk `index`'s plaintext, on that chunk's lane. */
  chunkHasher(index: number): CryptoJob {
    return this.job(this.laneOf(index), 'hash', { mode: 'none' }, index, false);
  }

  /** A bare SHA-256 + SHA3-256 of a whole stream, on a thread of its own. */
  streamHasher(): CryptoJob {
    return this.job(this.streamLane, 'hash', { mode: 'none' }, 0, false);
  }

  private job(l: WorkerLane, kind: JobKind, spec: ChunkCodecSpec, index: number, isLast: boolean): CryptoJob {
    const job = this.nextJob++;
    l.post({ op: 'open', job, kind, spec: exactSpec(spec), index, isLast });
    const call = (m: (req: number) => WorkerRequest, into: Uint8Array | undefined) => {
      const req = this.nextReq++;
      return l.request(req, m(req)).then((r) => ({ r, out: typeof r.out === 'number' ? asBuffer(into!.subarray(0, r.out)) : asBuffer(r.out) }));
    };
    return {
      step: (b, into) => {
        // Shared memory is passed as is; anything else would be cloned with its whole backing buffer.
        const bytes = b.buffer instanceof SharedArrayBuffer ? b : shareBytes(b);
        return call((req) => ({ op: 'step', job, req, bytes, into }), into).then((x) => x.out);
      },
      finish: (last, into) =>
        call((req) => ({ op: 'finish', job, req, isLast: last, into }), into).then(({ r, out }) => {
          const d = r.digest!;
          return { out, digest: { sha256: asBuffer(d.sha256), sha3_256: asBuffer(d.sha3_256), size: d.size } };
        }),
    };
  }

  /** Stops the threads; anything still pending rejects. */
  async close(): Promise<void> {
    await Promise.all([...this.chunkLanes, this.streamLane].map((l) => l.close()));
  }
}
