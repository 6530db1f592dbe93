import { createCipheriv, createDecipheriv } from 'node:crypto';
import { integrityError } from '../errors.js';

/**
 * The segmentation both sealed-object formats share (s3duct's AES-256-GCM objects and age
 * payloads): plaintext cut into SEGMENT_SIZE pieces, each sealed by an AEAD with a 16-byte
 * tag under a 12-byte nonce = 11-byte big-endian segment counter || a final-segment mark.
 * What differs (cipher, key, additional data, mark values) sits behind SegmentCipher.
 */
export const SEGMENT_SIZE = 64 * 1024;
export const TAG_SIZE = 16;

export interface SegmentCipher {
  /** Returns ciphertext || tag as two pieces: joining them would copy every byte once more. */
  seal(plain: Buffer, nonce: Buffer): [Buffer, Buffer];
  /** Returns the plaintext, or undefined when authentication fails. */
  open(sealed: Buffer, nonce: Buffer): Buffer | undefined;
}

/** A node:crypto AEAD as a SegmentCipher; `aad`, if given, is authenticated with every segment. */
export function aeadCipher(algorithm: 'aes-256-gcm' | 'chacha20-poly1305', key: Buffer, aad?: Buffer): SegmentCipher {
  const opts = { authTagLength: TAG_SIZE };
  return {
    seal(plain, nonce) {
      const c = createCipheriv(algorithm as 'aes-256-gcm', key, nonce, opts);
      if (aad) c.setAAD(aad);
      const body = c.update(plain);
      c.final();
      return [body, c.getAuthTag()];
    },
    open(sealed, nonce) {
      const d = createDecipheriv(algorithm as 'aes-256-gcm', key, nonce, opts);
      if (aad) d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
      const plain = d.update(sealed.subarray(0, sealed.length - TAG_SIZE));
      try {
        d.final();
      } catch {
        return undefined;
      }
      return plain;
    },
  };
}

export function segmentNonce(counter: number, mark: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(counter, 5, 6); // 11-byte big-endian counter; 2^48 segments is far beyond any object
  n[11] = mark;
  return n;
}

/** Number of stored bytes for `plainLength` bytes of segments (at least one, possibly empty). */
export function segmentedSize(plainLength: number): number {
  return plainLength + Math.max(1, Math.ceil(plainLength / SEGMENT_SIZE)) * TAG_SIZE;
}

/**
 * Seals a stream of plaintext pieces into segments. Like every codec here, it keeps no view of
 * a piece once update() returns (it copies the few bytes it carries over): callers reuse their
 * buffers at once, and the pipeline's workers read pieces straight from shared slabs.
 */
export class SegmentSealer {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private counter = 0;
  private finished = false;

  constructor(private readonly cipher: SegmentCipher) {}

  /** Returns the sealed segments completed by this piece. The last full segment is held back
   *  until final(), because only then is it known whether it is the final one. */
  update(piece: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let rest = piece;
    if (this.pendingLength) {
      // Only the held bytes and what tops them up to a segment are copied; the rest of the
      // piece is sealed in place (every byte of a backup passes here).
      const take = Math.min(SEGMENT_SIZE - this.pendingLength, rest.length);
      if (take > 0) {
        this.pending.push(Buffer.from(rest.subarray(0, take)));
        this.pendingLength += take;
        rest = rest.subarray(take);
      }
      if (!rest.length) return out;
      out.push(...this.seal(Buffer.concat(this.pending, this.pendingLength), 0));
      this.pending = [];
      this.pendingLength = 0;
    }
    while (rest.length > SEGMENT_SIZE) {
      out.push(...this.seal(rest.subarray(0, SEGMENT_SIZE), 0));
      rest = rest.subarray(SEGMENT_SIZE);
    }
    if (rest.length) {
      this.pending = [Buffer.from(rest)];
      this.pendingLength = rest.length;
    }
    return out;
  }

  /** Seals the final segment (never empty unless the whole plaintext is) with `mark`. */
  final(mark: number): Buffer[] {
    if (this.finished) throw new Error('SegmentSealer.final called twice');
    this.finished = true;
    return this.seal(Buffer.concat(this.pending, this.pendingLength), mark);
  }

  private seal(plain: Buffer, mark: number): [Buffer, Buffer] {
    return this.cipher.seal(plain, segmentNonce(this.counter++, mark));
  }
}

/** Opens segments given as a stream of pieces (whatever framing precedes them already removed). */
export class SegmentOpener {
  private buf: Buffer = Buffer.alloc(0);
  private counter = 0;

  constructor(
    private readonly cipher: SegmentCipher,
    private readonly what: string,
  ) {}

  update(piece: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const full = SEGMENT_SIZE + TAG_SIZE;
    let rest = piece;
    if (this.buf.length) {
      // As in the sealer: copy only the carried bytes, open the rest in place.
      const take = Math.min(full - this.buf.length, rest.length);
      if (take > 0) {
        this.buf = Buffer.concat([this.buf, rest.subarray(0, take)]);
        rest = rest.subarray(take);
      }
      if (!rest.length) return out;
      out.push(this.open(this.buf, 0));
    }
    while (rest.length > full) {
      out.push(this.open(rest.subarray(0, full), 0));
      rest = rest.subarray(full);
    }
    this.buf = Buffer.from(rest); // a copy: the piece is the caller's again once we return
    return out;
  }

  /** Opens the final segment, which must carry `mark`. */
  final(mark: number): Buffer {
    if (this.buf.length < TAG_SIZE) throw integrityError(`${this.what}: truncated`);
    // An empty final segment after full ones is never written (both formats forbid it):
    // accepting it would give one plaintext two encodings.
    if (this.buf.length === TAG_SIZE && this.counter > 0) throw integrityError(`${this.what}: empty final segment`);
    return this.open(this.buf, mark);
  }

  private open(sealed: Buffer, mark: number): Buffer {
    const plain = this.cipher.open(sealed, segmentNonce(this.counter, mark));
    if (!plain)
      throw integrityError(`${this.what}: authentication failed in segment ${this.counter} (data modified, truncated or extended)`);
    this.counter++;
    return plain;
  }
}
