import { authError, integrityError, usageError } from '../errors.js';
import { parseManifest, serializeManifest, type EncryptionInfo, type Manifest } from '../format/manifest.js';
import { deriveStreamKeys, keyFingerprint, publicChainKey, type StreamKeys } from './kdf.js';
import {
  FinalMark,
  HEADER_SIZE,
  Opener,
  SEGMENT_SIZE,
  Sealer,
  decodeHeader,
  newHeader,
  sealedSize,
  type SealKey,
} from './segmented-aead.js';

/** What the user asked for: the key material, never printed or stored. */
export type Protection = { readonly mode: 'none' } | { readonly mode: 'aes-256-gcm'; readonly key: Buffer };

/** What an encoder or decoder step returns: synchronous codecs return the pieces, codecs
 *  built on an asynchronous library may return a promise of them. */
export type CodecOutput = Buffer[] | Promise<Buffer[]>;

/** Turns one chunk's plaintext into the bytes stored for it, piece by piece. */
export interface ChunkEncoder {
  start(): CodecOutput;
  update(plain: Buffer): CodecOutput;
  /** `isLast`: this chunk ends the stream (bound into the data where the mode allows). */
  final(isLast: boolean): CodecOutput;
}

/** Turns a chunk object's bytes back into plaintext, authenticating as it goes. */
export interface ChunkDecoder {
  update(stored: Buffer): CodecOutput;
  final(): CodecOutput;
}

/** The per-chunk half of a codec, which the pipeline may run in a worker thread. */
export interface ChunkCodec {
  encoder(index: number): ChunkEncoder;
  decoder(index: number, isLast: boolean): ChunkDecoder;
}

/**
 * Plain data (structured-clone safe) from which chunkCodecFromSpec rebuilds a codec's
 * ChunkCodec in another thread. It carries derived subkeys, never the user's key.
 */
export type ChunkCodecSpec =
  | { readonly mode: 'none' }
  | { readonly mode: 'aes-256-gcm'; readonly streamId: Uint8Array; readonly root: Uint8Array; readonly check: Uint8Array };

/** Everything mode-specific about one stream, behind one interface. */
export interface StreamCodec extends ChunkCodec {
  readonly encryption: EncryptionInfo;
  readonly chainKey: Buffer;
  /** Set when the chunk codec can be rebuilt in a worker thread; absent, it runs in-thread. */
  readonly chunkSpec?: ChunkCodecSpec;
  storedSize(plainSize: number): number;
  sealManifest(m: Manifest): Buffer;
}

const PLAIN_ENCODER: ChunkEncoder = { start: () => [], update: (b) => [b], final: () => [] };
const PLAIN_DECODER: ChunkDecoder = { update: (b) => [b], final: () => [] };
const PLAIN_CHUNKS: ChunkCodec = { encoder: () => PLAIN_ENCODER, decoder: () => PLAIN_DECODER };

function plainCodec(streamId: Buffer): StreamCodec {
  return {
    ...PLAIN_CHUNKS,
    encryption: { mode: 'none' },
    chainKey: publicChainKey(streamId),
    chunkSpec: { mode: 'none' },
    storedSize: (n) => n,
    sealManifest: (m) => serializeManifest(m),
  };
}

function aesChunks(streamId: Buffer, chunkKey: SealKey): ChunkCodec {
  return {
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
  };
}

/** Rebuilds a codec's chunk half from its chunkSpec (in a worker thread). */
export function chunkCodecFromSpec(spec: ChunkCodecSpec): ChunkCodec {
  if (spec.mode === 'none') return PLAIN_CHUNKS;
  return aesChunks(Buffer.from(spec.streamId), { root: Buffer.from(spec.root), check: Buffer.from(spec.check) });
}

function aesCodec(userKey: Buffer, streamId: Buffer, keys: StreamKeys = deriveStreamKeys(userKey, streamId)): StreamCodec {
  const chunkKey: SealKey = { root: keys.data, check: keys.check };
  const manifestKey: SealKey = { root: keys.manifest, check: keys.check };
  return {
    ...aesChunks(streamId, chunkKey),
    encryption: { mode: 'aes-256-gcm', keyId: keyFingerprint(userKey), segmentSize: SEGMENT_SIZE },
    chainKey: keys.chain,
    chunkSpec: { mode: 'aes-256-gcm', streamId, root: chunkKey.root, check: chunkKey.check },
    storedSize: sealedSize,
    sealManifest(m) {
      const s = new Sealer(manifestKey, newHeader('manifest', streamId, 0, manifestKey));
      return Buffer.concat([s.header(), ...s.update(serializeManifest(m)), s.final(FinalMark.lastChunk)]);
    },
  };
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
  const sealed = bytes.length >= HEADER_SIZE && bytes.toString('latin1', 0, 4) === 'S3DM';
  if (!sealed) {
    if (bytes[0] !== 0x7b /* { */) throw integrityError(`${what}: not an s3duct manifest`);
    if (p.mode !== 'none')
      throw integrityError(`${what}: manifest is not encrypted but a key was given; refusing it (it may have been replaced)`);
    const manifest = parseManifest(bytes, what);
    if (manifest.encryption.mode !== 'none') throw integrityError(`${what}: plaintext manifest claims an encrypted stream`);
    return { manifest, codec: plainCodec(Buffer.from(manifest.streamId, 'hex')) };
  }
  if (p.mode === 'none') throw usageError(`${what}: the stream is encrypted; give --key`);
  const header = decodeHeader(bytes, what);
  const keys = deriveStreamKeys(p.key, header.streamId);
  if (!header.keyCheck.equals(keys.check)) throw authError(`${what}: wrong key for this stream`);
  const o = new Opener({ root: keys.manifest, check: keys.check }, { kind: 'manifest', streamId: header.streamId, index: 0 }, what);
  const body = Buffer.concat([...o.update(bytes), o.final(FinalMark.lastChunk)]);
  const manifest = parseManifest(body, what);
  if (manifest.streamId !== header.streamId.toString('hex')) throw integrityError(`${what}: stream id of manifest and header differ`);
  if (manifest.encryption.mode !== 'aes-256-gcm') throw integrityError(`${what}: encrypted manifest claims a plaintext stream`);
  return { manifest, codec: aesCodec(p.key, header.streamId, keys) };
}
