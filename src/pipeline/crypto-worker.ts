import { parentPort } from 'node:worker_threads';
import { Hashes } from '../crypto/dual-hash.js';
import { chunkCodecFromSpec, type CodecOutput } from '../crypto/stream-codec.js';
import { S3ductError } from '../errors.js';
import type { JobKind, WorkerReply, WorkerRequest } from './crypto-protocol.js';

/** Worker entry: hosts the jobs crypto-pool.ts opens (see crypto-protocol.ts). */

interface Job {
  readonly hash: Hashes;
  step(bytes: Buffer): Promise<Buffer[]>;
  finish(isLast: boolean): Promise<Buffer[]>;
}

function openJob(kind: JobKind, m: Extract<WorkerRequest, { op: 'open' }>): Job {
  const hash = new Hashes(m.digests);
  const hashAll = async (out: CodecOutput) => {
    const pieces = await out;
    for (const b of pieces) hash.update(b);
    return pieces;
  };
  if (kind === 'hash') return { hash, step: async (b) => (hash.update(b), []), finish: async () => [] };
  const codec = chunkCodecFromSpec(m.spec);
  if (kind === 'decode') {
    const d = codec.decoder(m.index, m.isLast);
    return { hash, step: (b) => hashAll(d.update(b)), finish: () => hashAll(d.final()) };
  }
  const e = codec.encoder(m.index);
  let head: CodecOutput | undefined = e.start();
  const withHead = async (out: CodecOutput) => {
    const pieces = head ? [...(await head), ...(await out)] : await out;
    head = undefined;
    return pieces;
  };
  return {
    hash,
    step: (b) => (hash.update(b), withHead(e.update(b))),
    finish: (isLast) => withHead(e.final(isLast)),
  };
}

/** Puts the pieces into `into` (returning the length) or, without one or when they do not fit
 *  (an age header with many recipients), one fresh buffer to transfer. */
function pack(pieces: Buffer[], into: Uint8Array | undefined): Uint8Array | number {
  const n = pieces.reduce((a, b) => a + b.length, 0);
  const fits = into !== undefined && n <= into.length;
  const out = fits ? into : new Uint8Array(n);
  let off = 0;
  for (const b of pieces) {
    out.set(b, off);
    off += b.length;
  }
  return fits ? n : out;
}

const port = parentPort!;
const jobs = new Map<number, { kind: JobKind; job: Job } | { kind: JobKind; error: unknown }>();

async function handle(m: WorkerRequest): Promise<void> {
  if (m.op === 'open') {
    try {
      jobs.set(m.job, { kind: m.kind, job: openJob(m.kind, m) });
    } catch (error) {
      jobs.set(m.job, { kind: m.kind, error });
    }
    return;
  }
  const entry = jobs.get(m.job);
  try {
    if (!entry) throw new Error(`unknown job ${m.job}`);
    if ('error' in entry) throw entry.error;
    // Read in place: codecs keep no view of a step's input (see ChunkEncoder), and the output
    // is packed before we reply, after which the pipeline reuses the slab.
    const { job } = entry;
    const pieces = m.op === 'step' ? await job.step(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength)) : await job.finish(m.isLast);
    const out = pack(pieces, m.into);
    let reply: WorkerReply = { req: m.req, ok: true, out };
    if (m.op === 'finish') {
      jobs.delete(m.job);
      reply = { ...reply, digest: { ...job.hash.digest(), size: job.hash.size } };
    }
    port.postMessage(reply, typeof out === 'number' ? [] : [out.buffer as ArrayBuffer]);
  } catch (error) {
    // A failed job stays failed: later steps for it report the same error, not "unknown job".
    if (entry && !('error' in entry)) jobs.set(m.job, { kind: entry.kind, error });
    const reply: WorkerReply =
      error instanceof S3ductError
        ? { req: m.req, ok: false, message: error.message, exitCode: error.exitCode }
        : { req: m.req, ok: false, message: error instanceof Error ? error.message : String(error) };
    port.postMessage(reply);
  }
}

// Steps of an asynchronous codec must not interleave: handle one message at a time.
let queue = Promise.resolve();
port.on('message', (m: WorkerRequest) => {
  queue = queue.then(() => handle(m));
});
