import type { DigestName } from '../crypto/dual-hash.js';
import type { ChunkCodecSpec } from '../crypto/stream-codec.js';

/**
 * Messages between the pipeline and a crypto worker (crypto-worker.ts). A worker hosts jobs;
 * each job is one chunk's encoder or decoder plus some of its hashes, or bare hashes (a
 * chunk's SHA3-256, the whole-stream hashes). A worker handles its messages strictly in arrival order, so the
 * pipeline may send many steps without waiting and receives the replies in the same order.
 */
export type JobKind =
  /** Hash each step's plaintext, then encode it; step replies carry the stored bytes. */
  | 'encode'
  /** Decode each step's stored bytes, hash the plaintext; step replies carry the plaintext. */
  | 'decode'
  /** Hash each step's bytes; step replies carry nothing. */
  | 'hash';

export type WorkerRequest =
  | {
      readonly op: 'open';
      readonly job: number;
      readonly kind: JobKind;
      readonly spec: ChunkCodecSpec;
      readonly index: number;
      readonly isLast: boolean;
      /** The hashes this job computes over the plaintext. */
      readonly digests: readonly DigestName[];
    }
  /** `bytes` and `into` are views of shared slabs, readable (and `into` writable) only until
   *  the reply: the pipeline reuses them afterwards. With an `into` the output fits, it is
   *  written there and the reply says how much; otherwise it comes in a transferred buffer. */
  | { readonly op: 'step'; readonly job: number; readonly req: number; readonly bytes: Uint8Array; readonly into?: Uint8Array }
  | { readonly op: 'finish'; readonly job: number; readonly req: number; readonly isLast: boolean; readonly into?: Uint8Array };

/** The digests the job was opened with, and the plaintext size. */
export interface WireDigest {
  readonly sha256?: Uint8Array;
  readonly sha3_256?: Uint8Array;
  readonly size: number;
}

export type WorkerReply =
  | { readonly req: number; readonly ok: true; readonly out: Uint8Array | number; readonly digest?: WireDigest }
  /** exitCode is set for an S3ductError, so the pipeline rethrows it unchanged. */
  | { readonly req: number; readonly ok: false; readonly message: string; readonly exitCode?: number };
