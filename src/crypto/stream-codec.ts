import { authError, integrityError, usageError } from '../errors.js';
import { parseManifest, serializeManifest, type EncryptionInfo, type Manifest } from '../format/manifest.js';
import { deriveStreamKeys, keyFingerprint, publicChainKey, type StreamKeys } from './kdf.js';
import {
  FinalMark,
  Opener,
  SEGMENT_SIZE,
  Sealer,
  decodeHeader,
  newHeader,
  sealedKindOf,
  sealedSize,
  type SealKey,
  type SealedKind,
} from './segmented-aead.js';

/** What the user asked for: the key material, never printed or stored. */
export type Protection = { readonly mode: 'none' } | { readonly mode: 'aes-256-gcm'; readonly key: Buffer };

/** Turns one chunk's plaintext into the bytes stored for it, piece by piece. */
export interface ChunkEncoder {
  start(): Buffer[];
  update(plain: Buffer): Buffer[];
  /** `isLast`: this chunk ends the stream (bound into the data where the mode allows). */
  final(isLast: boolean): Buffer[];
}

/** Turns a chunk object's bytes back into plaintext, authenticating as it goes. */
export interface ChunkDecoder {
  update(stored: Buffer): Buffer[];
  final(): Buffer[];
}

/** Everything mode-specific about one stream, behind one interface. */
export interface StreamCodec {
  readonly encryption: EncryptionInfo;
  readonly chainKey: Buffer;
  storedSize(plainSize: number): number;
  encoder(index: number): ChunkEncoder;
  decoder(index: number, isLast: boolean): ChunkDecoder;
  sealManifest(m: Manifest): Buffer;
  /** The store copy of the resume journal: sealed like the manifest when the stream is encrypted
   *  (it holds plaintext hashes). */
  sealJournal(text: Buffer): Buffer;
}

const PLAIN_ENCODER: ChunkEncoder = { start: () => [], update: (b) => [b], final: () => [] };
const PLAIN_DECODER: ChunkDecoder = { update: (b) => [b], final: () => [] };

function plainCodec(streamId: Buffer): StreamCodec {
  return {
    encryption: { mode: 'none' },
    chainKey: publicChainKey(streamId),
    storedSize: (n) => n,
    encoder: () => PLAIN_ENCODER,
    decoder: () => PLAIN_DECODER,
    sealManifest: (m) => serializeManifest(m),
    sealJournal: (text) => text,
  };
}

function aesCodec(userKey: Buffer, streamId: Buffer, keys: StreamKeys = deriveStreamKeys(userKey, streamId)): StreamCodec {
  const chunkKey: SealKey = { root: keys.data, check: keys.check };
  const manifestKey: SealKey = { root: keys.manifest, check: keys.check };
  return {
    encryption: { mode: 'aes-256-gcm', keyId: keyFingerprint(userKey), segmentSize: SEGMENT_SIZE },
    chainKey: keys.chain,
    storedSize: sealedSize,
    encoder(index) {
      const s = new Sealer(chunkKey, newHeader('chunk', streamId, index, chunkKey));
      return {
        start: () => [s.header()],
        update: (b) => s.update(b),
        final: (isLast) => [s.final(isLast ? FinalMark.lastChunk : FinalMark.chunk)],
      };
    },
    decoder(index, isLast) {
      const o = new Opener(chunkKey, { kind: 'chunk', streamId, index }, `chunk ${index}`);
      return { update: (b) => o.update(b), final: () => [o.final(isLast ? FinalMark.lastChunk : FinalMark.chunk)] };
    },
    sealManifest: (m) => sealWhole(manifestKey, 'manifest', streamId, serializeManifest(m)),
    sealJournal: (text) => sealWhole(manifestKey, 'journal', streamId, text),
  };
}

function sealWhole(key: SealKey, kind: SealedKind, streamId: Buffer, body: Buffer): Buffer {
  const s = new Sealer(key, newHeader(kind, streamId, 0, key));
  return Buffer.concat([s.header(), ...s.update(body), s.final(FinalMark.lastChunk)]);
}

/** Opens a whole sealed metadata object (manifest or journal) under the user's key. */
function openWhole(bytes: Buffer, userKey: Buffer, kind: SealedKind, what: string): { body: Buffer; streamId: Buffer; keys: StreamKeys } {
  const header = decodeHeader(bytes, what);
  const keys = deriveStreamKeys(userKey, header.streamId);
  if (!header.keyCheck.equals(keys.check)) throw authError(`${what}: wrong key for this stream`);
  const o = new Opener({ root: keys.manifest, check: keys.check }, { kind, streamId: header.streamId, index: 0 }, what);
  return { body: Buffer.concat([...o.update(bytes), o.final(FinalMark.lastChunk)]), streamId: header.streamId, keys };
}

/** Reads the store copy of a resume journal (see sealJournal). */
export function openJournal(bytes: Buffer, p: Protection, what: string): Buffer {
  if (sealedKindOf(bytes) !== 'journal') {
    if (p.mode !== 'none') throw integrityError(`${what}: not an encrypted journal`);
    return bytes;
  }
  if (p.mode === 'none') throw usageError(`${what}: the stream is encrypted; give --key`);
  return openWhole(bytes, p.key, 'journal', what).body;
}

export function codecForPut(p: Protection, streamId: Buffer): StreamCodec {
  return p.mode === 'none' ? plainCodec(streamId) : aesCodec(p.key, streamId);
}

/**
 * Reads a stored manifest under the user's protection choice and returns it with the codec
 * for its chunks. A reader holding a key refuses a plaintext manifest: otherwise whoever can
 * write to the bucket could swap in a plaintext stream of their own.
 */
export function openManifest(bytes: Buffer, p: Protection, what: string): { manifest: Manifest; codec: StreamCodec } {
  if (sealedKindOf(bytes) !== 'manifest') {
    if (bytes[0] !== 0x7b /* { */) throw integrityError(`${what}: not an s3duct manifest`);
    if (p.mode !== 'none')
      throw integrityError(`${what}: manifest is not encrypted but a key was given; refusing it (it may have been replaced)`);
    const manifest = parseManifest(bytes, what);
    if (manifest.encryption.mode !== 'none') throw integrityError(`${what}: plaintext manifest claims an encrypted stream`);
    return { manifest, codec: plainCodec(Buffer.from(manifest.streamId, 'hex')) };
  }
  if (p.mode === 'none') throw usageError(`${what}: the stream is encrypted; give --key`);
  const { body, streamId, keys } = openWhole(bytes, p.key, 'manifest', what);
  const manifest = parseManifest(body, what);
  if (manifest.streamId !== streamId.toString('hex')) throw integrityError(`${what}: stream id of manifest and header differ`);
  if (manifest.encryption.mode !== 'aes-256-gcm') throw integrityError(`${what}: encrypted manifest claims a plaintext stream`);
  return { manifest, codec: aesCodec(p.key, streamId, keys) };
}
