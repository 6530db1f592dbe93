import { parentPort } from 'node:worker_threads';
import { DualHash } from '../crypto/dual-hash.js';
import { chunkCodecFromSpec, type CodecOutput } from '../crypto/stream-codec.js';
import { S3ductError } from '../errors.js';
import type { JobKind, WorkerReply, WorkerRequest } from './crypto-protocol.js';

/** Worker entry: hosts the jobs crypto-pool.ts opens (see crypto-protocol.ts). */

interface Job {
  readonly hash: DualHash;
  step(bytes: Buffer): Promise<Buffer[]>;
  finish(isLast: boolean): Promise<Buffer[]>;
}

function openJob(kind: JobKind, m: Extract<WorkerRequest, { op: 'open' }>): Job {
  const hash = new DualHash();
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

/** Puts the pieces into `into` (returning the length) or one fresh buffer to transfer. */
function pack(pieces: Buffer[], into: Uint8Array | undefined): Uint8Array | number {
  const n = pieces.reduce((a, b) => a + b.length, 0);
  if (into && n > into.length) throw new Error(`output of ${n} bytes does not fit its ${into.length}-byte slab`);
  const out = into ?? new Uint8Array(n);
  let off = 0;
  for (const b of pieces) {
    out.set(b, off);
    off += b.length;
  }
  return into ? n : out;
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
    const { kind, job } = entry;
    // A codec may keep views of its input between steps (a partial segment): give it a private
    // copy, since the slab is reused once we reply. Hashing keeps nothing, so it reads in place.
    const input = (b: Uint8Array) => (kind === 'hash' ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.from(b));
    const pieces = m.op === 'step' ? await job.step(input(m.bytes)) : await job.finish(m.isLast);
    const out = pack(pieces, m.into);
    let reply: WorkerReply = { req: m.req, ok: true, out };
    if (m.op === 'finish') {
      jobs.delete(m.job);
      const d = job.hash.digest();
      reply = { ...reply, digest: { sha256: d.sha256, sha3_256: d.sha3_256, size: job.hash.size } };
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
