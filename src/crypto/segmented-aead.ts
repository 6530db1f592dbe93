import { randomBytes } from 'node:crypto';
import { authError, integrityError } from '../errors.js';
import { hkdf } from './kdf.js';
import { SEGMENT_SIZE, SegmentOpener, SegmentSealer, TAG_SIZE, aeadCipher, segmentedSize } from './segment-framing.js';

export { SEGMENT_SIZE, TAG_SIZE };

/**
 * Segmented AES-256-GCM framing of one stored object (a chunk or a manifest), see
 * docs/FORMAT.md "Sealed objects". The object is a 64-byte header followed by segments of
 * SEGMENT_SIZE plaintext bytes, each sealed separately, so neither side ever holds a whole
 * chunk in memory.
 *
 * Nonce safety: every sealing draws a fresh random 16-byte salt and derives a one-object key
 * from it; segment nonces are counters under that key. Re-encrypting a chunk after a crash,
 * even with different plaintext, therefore never reuses a (key, nonce) pair.
 */
export const HEADER_SIZE = 64;
export const KEY_CHECK_SIZE = 16;
export const SALT_SIZE = 16;
export const STREAM_ID_SIZE = 16;

export type SealedKind = 'chunk' | 'manifest' | 'journal';
const MAGIC: Record<SealedKind, string> = { chunk: 'S3DC', manifest: 'S3DM', journal: 'S3DJ' };

/** The kind of a sealed object from its first bytes, or null if it is not one. */
export function sealedKindOf(b: Buffer): SealedKind | null {
  const magic = b.toString('latin1', 0, 4);
  return (Object.keys(MAGIC) as SealedKind[]).find((k) => MAGIC[k] === magic) ?? null;
}
const FORMAT_VERSION = 1;
const ALG_AES_256_GCM = 1;

/**
 * How the object's final segment is marked. It sits in the final segment's nonce, not the
 * header, because a streaming writer only learns that a chunk is the stream's last when it
 * reaches the end of that chunk.
 */
export const FinalMark = { chunk: 1, lastChunk: 2 } as const;
export type FinalMarkValue = (typeof FinalMark)[keyof typeof FinalMark];

export interface SealedHeader {
  readonly kind: SealedKind;
  readonly streamId: Buffer;
  readonly index: number;
  readonly salt: Buffer;
  /** Per-stream value derived from the key: lets a reader say "wrong key" rather than "tampered". */
  readonly keyCheck: Buffer;
}

export function encodeHeader(h: SealedHeader): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  b.write(MAGIC[h.kind], 0, 'latin1');
  b[4] = FORMAT_VERSION;
  b[5] = ALG_AES_256_GCM;
  h.streamId.copy(b, 8);
  b.writeBigUInt64BE(BigInt(h.index), 24);
  h.salt.copy(b, 32);
  h.keyCheck.copy(b, 48);
  return b;
}

/** Parses a header; throws an integrity error naming `what` if it is not one of ours. */
export function decodeHeader(b: Buffer, what: string): SealedHeader {
  if (b.length < HEADER_SIZE) throw integrityError(`${what}: truncated (${b.length} bytes, header needs ${HEADER_SIZE})`);
  const kind = sealedKindOf(b);
  if (!kind) throw integrityError(`${what}: not an encrypted s3duct object (bad magic)`);
  if (b[4] !== FORMAT_VERSION) throw integrityError(`${what}: unsupported format version ${b[4]}; upgrade s3duct`);
  if (b[5] !== ALG_AES_256_GCM) throw integrityError(`${what}: unknown cipher ${b[5]}`);
  return {
    kind,
    streamId: Buffer.from(b.subarray(8, 24)),
    index: Number(b.readBigUInt64BE(24)),
    salt: Buffer.from(b.subarray(32, 48)),
    keyCheck: Buffer.from(b.subarray(48, 64)),
  };
}

/** The key material a Sealer or Opener needs: the subkey root and the stream's key check. */
export interface SealKey {
  readonly root: Buffer;
  readonly check: Buffer;
}

export function newHeader(kind: SealedKind, streamId: Buffer, index: number, key: SealKey): SealedHeader {
  return { kind, streamId, index, salt: randomBytes(SALT_SIZE), keyCheck: key.check };
}

export function sealedSize(plainLength: number): number {
  return HEADER_SIZE + segmentedSize(plainLength);
}

function objectKey(root: Buffer, salt: Buffer): Buffer {
  return hkdf(root, salt, 'object');
}

/** Seals a stream of plaintext pieces; emits sealed bytes (header first). */
export class Sealer {
  private readonly aad: Buffer;
  private readonly segments: SegmentSealer;

  constructor(key: SealKey, header: SealedHeader) {
    this.aad = encodeHeader(header);
    this.segments = new SegmentSealer(aeadCipher('aes-256-gcm', objectKey(key.root, header.salt), this.aad));
  }

  header(): Buffer {
    return this.aad;
  }

  update(piece: Buffer): Buffer[] {
    return this.segments.update(piece);
  }

  final(mark: FinalMarkValue): Buffer[] {
    return this.segments.final(mark);
  }
}

/**
 * Opens a sealed object given as a stream of pieces (header included). The caller states the
 * header it expects (stream, index) so a moved, swapped or foreign object fails by name.
 */
export class Opener {
  private segments: SegmentOpener | undefined;
  private headerBuf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly sealKey: SealKey,
    private readonly expect: { kind: SealedKind; streamId: Buffer; index: number },
    private readonly what: string,
  ) {}

  update(piece: Buffer): Buffer[] {
    if (this.segments) return this.segments.update(piece);
    this.headerBuf = Buffer.concat([this.headerBuf, piece]); // a copy: the piece is the caller's again once we return
    if (this.headerBuf.length < HEADER_SIZE) return [];
    this.segments = this.acceptHeader(this.headerBuf.subarray(0, HEADER_SIZE));
    return this.segments.update(this.headerBuf.subarray(HEADER_SIZE));
  }

  /** Opens the final segment, which must carry `mark`. */
  final(mark: FinalMarkValue): Buffer {
    if (!this.segments) throw integrityError(`${this.what}: truncated (no complete header)`);
    return this.segments.final(mark);
  }

  /** Opens the final segment when the caller cannot know which mark it carries (salvage). */
  finalAnyMark(): { plain: Buffer; mark: FinalMarkValue } {
    try {
      return { plain: this.final(FinalMark.lastChunk), mark: FinalMark.lastChunk };
    } catch {
      return { plain: this.final(FinalMark.chunk), mark: FinalMark.chunk };
    }
  }

  private acceptHeader(raw: Buffer): SegmentOpener {
    const h = decodeHeader(raw, this.what);
    if (h.kind !== this.expect.kind) throw integrityError(`${this.what}: holds a ${h.kind}, not a ${this.expect.kind}`);
    if (!h.streamId.equals(this.expect.streamId)) throw integrityError(`${this.what}: object belongs to another stream (${h.streamId.toString('hex')})`);
    if (h.index !== this.expect.index) throw integrityError(`${this.what}: object holds chunk ${h.index}: chunks were moved, dropped or duplicated`);
    // Checked after the stream id: the check value is per stream, so a foreign object would
    // otherwise be misreported as a key problem.
    if (!h.keyCheck.equals(this.sealKey.check))
      // A chunk is opened only after its stream's manifest or journal opened with this key: a
      // chunk under another key was put there by someone, it is not the user's wrong key.
      throw this.expect.kind === 'chunk'
        ? integrityError(`${this.what}: sealed under another key than the rest of its stream: the object was replaced`)
        : authError(`${this.what}: encrypted with a different key`);
    return new SegmentOpener(aeadCipher('aes-256-gcm', objectKey(this.sealKey.root, h.salt), Buffer.from(raw)), this.what);
  }
}
