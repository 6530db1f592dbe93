import { createHash, hkdfSync } from 'node:crypto';

/** The subkeys one stream uses. Separate keys keep a bug in one use from weakening another. */
export interface StreamKeys {
  /** Root for the per-object segment keys of chunk objects. */
  readonly data: Buffer;
  /** First link of the HMAC chain; only a key holder can compute a valid chain. */
  readonly chain: Buffer;
  /** Root for the segment key of the manifest object. */
  readonly manifest: Buffer;
  /** Stored in every object header: tells "wrong key" apart from "tampered" (docs/FORMAT.md). */
  readonly check: Buffer;
}

const LABEL = 's3duct/v1/';

export function hkdf(ikm: Buffer, salt: Buffer, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(LABEL + info, 'utf8'), length));
}

/**
 * Per-stream subkeys: HKDF-SHA256 with the random stream id as salt, so no two streams share
 * a key even under one user key (and each profile upload gets its own keys from the master).
 */
export function deriveStreamKeys(userKey: Buffer, streamId: Buffer): StreamKeys {
  return {
    data: hkdf(userKey, streamId, 'data'),
    chain: hkdf(userKey, streamId, 'chain'),
    manifest: hkdf(userKey, streamId, 'manifest'),
    check: hkdf(userKey, streamId, 'key-check', 16),
  };
}

/**
 * Chain seed of an unencrypted stream. It is public by construction: such a chain detects
 * accidents, not an attacker (docs/FORMAT.md says so).
 */
export function publicChainKey(streamId: Buffer): Buffer {
  return hkdf(Buffer.alloc(32), streamId, 'chain');
}

/**
 * A short, non-secret identifier of a user key, so that resume and get can say "wrong key"
 * without ever storing or printing the key. HKDF output reveals nothing about the key.
 */
export function keyFingerprint(userKey: Buffer): string {
  return hkdf(userKey, Buffer.alloc(0), 'key-id', 16).toString('hex');
}

export function sha256hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
