import { integrityError } from '../errors.js';
import { SEGMENT_SIZE } from '../crypto/segment-framing.js';

/** The manifest version put writes. Readers accept every version listed in docs/FORMAT.md. */
export const MANIFEST_VERSION = 2;

export interface ChunkRecord {
  readonly index: number;
  /** Plaintext bytes. */
  readonly size: number;
  /** Bytes of the stored object (plaintext plus framing). */
  readonly storedSize: number;
  readonly sha256: string;
  readonly sha3_256: string;
  /** chain[index], hex. */
  readonly chain: string;
  readonly etag?: string;
}

export type EncryptionInfo =
  | { readonly mode: 'none' }
  | { readonly mode: 'aes-256-gcm'; readonly keyId: string; readonly segmentSize: number }
  /** `recipients`: stanza type and SHA-256 prefix of each recipient, or just "scrypt". */
  | { readonly mode: 'age'; readonly segmentSize: number; readonly recipients: readonly string[] };

export interface SourceInfo {
  readonly kind: 'stdin' | 'file' | 'device';
  /** Original base name of a file or device; absent for stdin. */
  readonly fileName?: string;
  readonly size?: number;
  readonly mtime?: string;
}

interface TotalsCommon {
  readonly size: number;
  readonly chunks: number;
  /** Last link of the chain. */
  readonly chain: string;
}

/** Version 1: digests of the whole plaintext, as `sha256sum` prints them. Each is one
 *  sequential pass over every byte, which caps a put or get at one core's SHA3-256 rate. */
export interface FlatStreamTotals extends TotalsCommon {
  readonly sha256: string;
  readonly sha3_256: string;
}

/** Version 2: digests over the ordered chunk digests (docs/FORMAT.md 5.1), so no byte is
 *  hashed twice and chunks can be hashed on different cores. */
export interface ChunkListStreamTotals extends TotalsCommon {
  readonly sha256OfChunks: string;
  readonly sha3_256OfChunks: string;
}

interface ManifestCommon {
  readonly format: 's3duct';
  readonly streamId: string;
  readonly name: string;
  readonly createdAt: string;
  readonly completedAt: string;
  readonly chunkSize: number;
  readonly encryption: EncryptionInfo;
  readonly storageClass: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly source: SourceInfo;
  readonly chunks: readonly ChunkRecord[];
}

export type ManifestV1 = ManifestCommon & { readonly version: 1; readonly stream: FlatStreamTotals };
export type ManifestV2 = ManifestCommon & { readonly version: 2; readonly stream: ChunkListStreamTotals };
export type Manifest = ManifestV1 | ManifestV2;
export type StreamTotals = Manifest['stream'];

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses and checks a manifest body. Structural checks only; crypto checks happen on read. */
export function parseManifest(body: Buffer, what: string): Manifest {
  let m: any;
  try {
    m = JSON.parse(body.toString('utf8'));
  } catch {
    throw integrityError(`${what}: manifest is not valid JSON`);
  }
  const bad = (field: string) => integrityError(`${what}: manifest field "${field}" is missing or invalid`);
  if (m?.format !== 's3duct') throw integrityError(`${what}: not an s3duct manifest`);
  if (m.version !== 1 && m.version !== 2) throw integrityError(`${what}: manifest version ${m.version} is not supported by this s3duct; upgrade`);
  if (typeof m.streamId !== 'string' || !/^[0-9a-f]{32}$/.test(m.streamId)) throw bad('streamId');
  if (typeof m.name !== 'string') throw bad('name');
  if (!Number.isSafeInteger(m.chunkSize) || m.chunkSize <= 0) throw bad('chunkSize');
  if (!m.encryption || !['none', 'aes-256-gcm', 'age'].includes(m.encryption.mode)) throw bad('encryption');
  // The framing is read with the one segment size this version writes: any other needs a newer reader.
  if (m.encryption.mode !== 'none' && m.encryption.segmentSize !== SEGMENT_SIZE)
    throw integrityError(`${what}: segment size ${JSON.stringify(m.encryption.segmentSize)} is not supported by this s3duct; upgrade`);
  if (!Array.isArray(m.chunks) || m.chunks.length === 0) throw bad('chunks');
  m.chunks.forEach((c: any, i: number) => {
    if (c?.index !== i || !Number.isSafeInteger(c.size) || !Number.isSafeInteger(c.storedSize)) throw bad(`chunks[${i}]`);
    if (!HEX64.test(c.sha256) || !HEX64.test(c.sha3_256) || !HEX64.test(c.chain)) throw bad(`chunks[${i}]`);
  });
  const s = m.stream;
  if (!s || s.chunks !== m.chunks.length || !Number.isSafeInteger(s.size)) throw bad('stream');
  const digests = m.version === 1 ? [s.sha256, s.sha3_256] : [s.sha256OfChunks, s.sha3_256OfChunks];
  if (![...digests, s.chain].every((d) => HEX64.test(d))) throw bad('stream');
  return m as Manifest;
}

export function serializeManifest(m: Manifest): Buffer {
  return Buffer.from(JSON.stringify(m), 'utf8');
}
