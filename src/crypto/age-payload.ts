import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { integrityError } from '../errors.js';
import { hkdf } from './kdf.js';
import { SegmentOpener, SegmentSealer, aeadCipher, segmentedSize } from './segment-framing.js';

/**
 * The payload of an age file (age-encryption.org/v1), written with node:crypto's native
 * ChaCha20-Poly1305 (the age-encryption package's own cipher is pure JavaScript and ~20×
 * slower). An age object is `header || nonce (16) || segments`; see docs/FORMAT.md "age".
 *
 * One header (one file key, wrapped once per recipient) serves every object of a stream; each
 * object gets its own nonce and so its own payload key HKDF(file key, nonce, "payload"),
 * which is what makes the reuse safe. s3duct fills the 16 nonce bytes with 8 random bytes and
 * an 8-byte tag binding the object's role and index under a key derived from the file key, so
 * a chunk moved to another index (or passed off as the manifest) is caught by name.
 */
export const AGE_NONCE_SIZE = 16;
const RANDOM_PART = 8;
const LAST_SEGMENT = 1;

/** A stream's age header and the file key it wraps. The file key never leaves the process. */
export interface AgeStreamKey {
  /** The header exactly as stored, from the version line through the MAC line's newline. */
  readonly header: Buffer;
  readonly fileKey: Buffer;
}

export type AgeObjectRole = { readonly kind: 'chunk'; readonly index: number } | { readonly kind: 'manifest' } | { readonly kind: 'journal' };

const ROLE_BYTE = { chunk: 1, manifest: 2, journal: 3 } as const;

/** Payload key exactly as age derives it (no s3duct label: this must interoperate). */
export function agePayloadKey(fileKey: Buffer, nonce: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, nonce, Buffer.from('payload'), 32));
}

/** Chain key of an age stream: secret to whoever can unwrap the file key (docs/FORMAT.md). */
export function ageChainKey(fileKey: Buffer): Buffer {
  return hkdf(fileKey, Buffer.alloc(0), 'age-chain');
}

function roleTag(fileKey: Buffer, role: AgeObjectRole, random: Buffer): Buffer {
  const msg = Buffer.alloc(9);
  msg[0] = ROLE_BYTE[role.kind];
  msg.writeBigUInt64BE(BigInt(role.kind === 'chunk' ? role.index : 0), 1);
  const key = hkdf(fileKey, Buffer.alloc(0), 'age-nonce');
  return createHmac('sha256', key).update(msg).update(random).digest().subarray(0, AGE_NONCE_SIZE - RANDOM_PART);
}

export function ageNonce(fileKey: Buffer, role: AgeObjectRole, random: Buffer = randomBytes(RANDOM_PART)): Buffer {
  return Buffer.concat([random, roleTag(fileKey, role, random)]);
}

export function ageNonceMatches(fileKey: Buffer, role: AgeObjectRole, nonce: Buffer): boolean {
  return timingSafeEqual(roleTag(fileKey, role, nonce.subarray(0, RANDOM_PART)), nonce.subarray(RANDOM_PART));
}

const VERSION_LINE = 'age-encryption.org/v1\n';
const MAC_LINE = '\n--- ';

export function looksLikeAge(bytes: Buffer): boolean {
  return bytes.length >= VERSION_LINE.length && bytes.toString('latin1', 0, VERSION_LINE.length) === VERSION_LINE;
}

/** Length of the header at the start of an age file: through the newline ending the MAC line. */
export function ageHeaderLength(bytes: Buffer, what: string): number {
  if (!looksLikeAge(bytes)) throw integrityError(`${what}: not an age file`);
  const mac = bytes.indexOf(MAC_LINE, 0, 'latin1');
  const end = mac < 0 ? -1 : bytes.indexOf(0x0a, mac + MAC_LINE.length);
  if (end < 0) throw integrityError(`${what}: truncated age header`);
  return end + 1;
}

export function ageObjectSize(key: AgeStreamKey, plainLength: number): number {
  return key.header.length + AGE_NONCE_SIZE + segmentedSize(plainLength);
}

/** Writes one age object: header and nonce first, then the payload segments. */
export class AgeSealer {
  private readonly nonce: Buffer;
  private readonly segments: SegmentSealer;

  constructor(
    private readonly key: AgeStreamKey,
    role: AgeObjectRole,
  ) {
    this.nonce = ageNonce(key.fileKey, role);
    this.segments = new SegmentSealer(aeadCipher('chacha20-poly1305', agePayloadKey(key.fileKey, this.nonce)));
  }

  start(): Buffer[] {
    return [this.key.header, this.nonce];
  }

  update(piece: Buffer): Buffer[] {
    return this.segments.update(piece);
  }

  final(): Buffer[] {
    return this.segments.final(LAST_SEGMENT);
  }
}

export function sealAgeObject(key: AgeStreamKey, role: AgeObjectRole, plain: Buffer): Buffer {
  const s = new AgeSealer(key, role);
  return Buffer.concat([...s.start(), ...s.update(plain), ...s.final()]);
}

/** Opens a whole (small) age object of a known stream: its manifest or resume journal. */
export function openAgeObject(key: AgeStreamKey, role: AgeObjectRole, stored: Buffer, what: string): Buffer {
  const o = new AgeOpener(key, role, what);
  return Buffer.concat([...o.update(stored), o.final()]);
}

/**
 * Reads one age object of a known stream. Its header must be the stream's header byte for
 * byte (so no per-object key unwrapping, and an object of another stream fails by name), and
 * its nonce must carry the expected role.
 */
export class AgeOpener {
  private segments: SegmentOpener | undefined;
  private head: Buffer = Buffer.alloc(0);

  constructor(
    private readonly key: AgeStreamKey,
    private readonly role: AgeObjectRole,
    private readonly what: string,
  ) {}

  update(piece: Buffer): Buffer[] {
    if (this.segments) return this.segments.update(piece);
    this.head = Buffer.concat([this.head, piece]); // a copy: the piece is the caller's again once we return
    const prefix = this.key.header.length + AGE_NONCE_SIZE;
    if (this.head.length < prefix) return [];
    this.segments = this.accept(this.head.subarray(this.key.header.length, prefix));
    return this.segments.update(this.head.subarray(prefix));
  }

  final(): Buffer {
    if (!this.segments) throw integrityError(`${this.what}: truncated (no complete age header)`);
    return this.segments.final(LAST_SEGMENT);
  }

  private accept(nonce: Buffer): SegmentOpener {
    if (!this.head.subarray(0, this.key.header.length).equals(this.key.header))
      throw integrityError(`${this.what}: age header differs from the stream's (object replaced or from another stream)`);
    if (!ageNonceMatches(this.key.fileKey, this.role, nonce))
      throw integrityError(
        this.role.kind === 'chunk'
          ? `${this.what}: object is not chunk ${this.role.index} of this stream (chunks moved, dropped or duplicated)`
          : `${this.what}: object is not this stream's ${this.role.kind}`,
      );
    return new SegmentOpener(aeadCipher('chacha20-poly1305', agePayloadKey(this.key.fileKey, Buffer.from(nonce))), this.what);
  }
}
