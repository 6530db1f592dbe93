import { createHash } from 'node:crypto';
import type { ChunkListStreamTotals } from './manifest.js';

/** Domain prefix of the version 2 stream digests (docs/FORMAT.md 5.1). */
const PREFIX = Buffer.from('s3duct-v2-stream', 'latin1');

export interface ChunkDigestRecord {
  readonly size: number;
  /** 64 hex. */
  readonly sha256: string;
  readonly sha3_256: string;
}

/**
 * The whole-stream digests of manifest version 2: SHA-256 over PREFIX || (u64 size || sha256)
 * per chunk, and SHA3-256 likewise over the SHA3-256 digests. A change to any byte changes its
 * chunk's digests and so these; the sizes make the chunking part of what is hashed.
 */
export function chunkListDigests(chunks: readonly ChunkDigestRecord[]): Pick<ChunkListStreamTotals, 'sha256OfChunks' | 'sha3_256OfChunks'> {
  const a = createHash('sha256').update(PREFIX);
  const b = createHash('sha3-256').update(PREFIX);
  const size = Buffer.alloc(8);
  for (const c of chunks) {
    size.writeBigUInt64BE(BigInt(c.size));
    a.update(size).update(Buffer.from(c.sha256, 'hex'));
    b.update(size).update(Buffer.from(c.sha3_256, 'hex'));
  }
  return { sha256OfChunks: a.digest('hex'), sha3_256OfChunks: b.digest('hex') };
}
