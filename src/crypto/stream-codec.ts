import { authError, conflictError, integrityError, usageError } from '../errors.js';
import { parseManifest, serializeManifest, type EncryptionInfo, type Manifest } from '../format/manifest.js';
import { ageRecipientIds, type AgeKeys } from './age-keys.js';
import { AgeOpener, AgeSealer, ageChainKey, ageHeaderLength, ageObjectSize, looksLikeAge, openAgeObject, sealAgeObject, type AgeStreamKey } from './age-payload.js';
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
export type Protection =
  | { readonly mode: 'none' }
  | { readonly mode: 'aes-256-gcm'; readonly key: Buffer }
  | { readonly mode: 'age'; readonly keys: AgeKeys };

/** What an encoder or decoder step returns: synchronous codecs return the pieces, codecs
 *  built on an asynchronous library may return a promise of them. */
export type CodecOutput = Buffer[] | Promise<Buffer[]>;

/**
 * Turns one chunk's plaintext into the bytes stored for it, piece by piece. Encoders and
 * decoders keep no view of a step's input after the step: the caller may overwrite it once it
 * has used the step's output, which may itself be a view of the input (plaintext mode).
 */
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
  | { readonly mode: 'aes-256-gcm'; readonly streamId: Uint8Array; readonly root: Uint8Array; readonly check: Uint8Array }
  /** The stream's age header and file key (a per-stream secret, never an identity). */
  | { readonly mode: 'age'; readonly header: Uint8Array; readonly fileKey: Uint8Array };

/** Everything mode-specific about one stream, behind one interface. */
export interface StreamCodec extends ChunkCodec {
  readonly encryption: EncryptionInfo;
  readonly chainKey: Buffer;
  /** What a worker thread needs to rebuild the chunk codec (crypto-pool.ts runs it there). */
  readonly chunkSpec: ChunkCodecSpec;
  storedSize(plainSize: number): number;
  sealManifest(m: Manifest): Buffer;
  /** The store copy of the resume journal: sealed like the manifest when the stream is encrypted
   *  (it holds plaintext hashes). */
  sealJournal(text: Buffer): Buffer;
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
    sealJournal: (text) => text,
  };
}

function aesChunks(streamId: Buffer, chunkKey: SealKey): ChunkCodec {
  return {
    encoder(index) {
      const s = new Sealer(chunkKey, newHeader('chunk', streamId, index, chunkKey));
      return {
        start: () => [s.header()],
        update: (b) => s.update(b),
        final: (isLast) => s.final(isLast ? FinalMark.lastChunk : FinalMark.chunk),
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
  if (spec.mode === 'age') return ageChunks({ header: Buffer.from(spec.header), fileKey: Buffer.from(spec.fileKey) });
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
    sealManifest: (m) => sealWhole(manifestKey, 'manifest', streamId, serializeManifest(m)),
    sealJournal: (text) => sealWhole(manifestKey, 'journal', streamId, text),
  };
}

function sealWhole(key: SealKey, kind: SealedKind, streamId: Buffer, body: Buffer): Buffer {
  const s = new Sealer(key, newHeader(kind, streamId, 0, key));
  return Buffer.concat([s.header(), ...s.update(body), ...s.final(FinalMark.lastChunk)]);
}

/** Opens a whole sealed metadata object (manifest or journal) under the user's key. */
function openWhole(bytes: Buffer, userKey: Buffer, kind: SealedKind, what: string): { body: Buffer; streamId: Buffer; keys: StreamKeys } {
  const header = decodeHeader(bytes, what);
  const keys = deriveStreamKeys(userKey, header.streamId);
  if (!header.keyCheck.equals(keys.check)) throw authError(`${what}: wrong key for this stream`);
  const o = new Opener({ root: keys.manifest, check: keys.check }, { kind, streamId: header.streamId, index: 0 }, what);
  return { body: Buffer.concat([...o.update(bytes), o.final(FinalMark.lastChunk)]), streamId: header.streamId, keys };
}

const GIVE_AGE = 'give --age-identity FILE (or --age-passphrase-env VAR)';

/** Reads the store copy of a resume journal (see sealJournal). */
export async function openJournal(bytes: Buffer, p: Protection, what: string): Promise<Buffer> {
  if (looksLikeAge(bytes)) {
    if (p.mode !== 'age') throw usageError(`${what}: the stream is age-encrypted; ${GIVE_AGE}`);
    return openAgeObject(await openAgeStreamKey(bytes, p.keys, what), { kind: 'journal' }, bytes, what);
  }
  if (sealedKindOf(bytes) !== 'journal') {
    if (p.mode !== 'none') {
      // An unencrypted put's journal (or one put in its place): either way not this key's to continue.
      if (bytes.subarray(0, 40).toString('latin1').includes('"s3duct-resume"'))
        throw conflictError(`${what}: the interrupted put stores its data unencrypted; rerun it with --no-encrypt to resume it, or pass --restart to discard it`);
      throw integrityError(`${what}: not an encrypted journal`);
    }
    return bytes;
  }
  if (p.mode !== 'aes-256-gcm') throw usageError(`${what}: the stream is encrypted with a symmetric key; give --key`);
  return openWhole(bytes, p.key, 'journal', what).body;
}

/**
 * Every object of an age stream is a standalone age file sharing the stream's one header
 * (see age-payload.ts for why that is safe); the manifest is one more such file.
 */
function ageCodec(key: AgeStreamKey, encryption: EncryptionInfo & { mode: 'age' }): StreamCodec {
  return {
    ...ageChunks(key),
    encryption,
    chainKey: ageChainKey(key.fileKey),
    chunkSpec: { mode: 'age', header: key.header, fileKey: key.fileKey },
    storedSize: (n) => ageObjectSize(key, n),
    sealManifest: (m) => sealAgeObject(key, { kind: 'manifest' }, serializeManifest(m)),
    sealJournal: (text) => sealAgeObject(key, { kind: 'journal' }, text),
  };
}

function ageChunks(key: AgeStreamKey): ChunkCodec {
  return {
    encoder(index) {
      const s = new AgeSealer(key, { kind: 'chunk', index });
      return { start: () => s.start(), update: (b) => s.update(b), final: () => s.final() };
    },
    decoder(index) {
      // The last-chunk mark has no place in an age file; the manifest's chunk count covers it.
      const o = new AgeOpener(key, { kind: 'chunk', index }, `chunk ${index}`);
      return { update: (b) => o.update(b), final: () => [o.final()] };
    },
  };
}

/**
 * What a resume or a partial read compares to tell "another key" from "the same": the
 * fingerprint of a symmetric key, or the sorted recipient names of an age put (its file key is
 * drawn per put; the header says whether a later run can open it); null without encryption.
 */
export function protectionKeyId(p: Protection): string | null {
  if (p.mode === 'aes-256-gcm') return keyFingerprint(p.key);
  if (p.mode === 'age') return ageRecipientIds(p.keys).sort().join(',');
  return null;
}

/**
 * The codec of a new stream, or with `ageHeader` (the stored header of an interrupted age put)
 * of the stream being continued: its file key unwrapped again with the put's identities or
 * passphrase, so new chunks join the old ones under one key.
 */
export async function codecForPut(p: Protection, streamId: Buffer, ageHeader?: Buffer): Promise<StreamCodec> {
  switch (p.mode) {
    case 'none':
      return plainCodec(streamId);
    case 'aes-256-gcm':
      return aesCodec(p.key, streamId);
    case 'age': {
      const encryption = { mode: 'age', segmentSize: SEGMENT_SIZE, recipients: ageRecipientIds(p.keys) } as const;
      if (ageHeader) return ageCodec(await openAgeStreamKey(ageHeader, p.keys, 'interrupted age put'), encryption);
      const { newAgeStreamKey } = await import('./age-header.js');
      return ageCodec(await newAgeStreamKey(p.keys), encryption);
    }
  }
}

/** An age stream's key from the header at the start of `bytes`, unwrapped with the user's keys. */
async function openAgeStreamKey(bytes: Buffer, keys: AgeKeys, what: string): Promise<AgeStreamKey> {
  const header = Buffer.from(bytes.subarray(0, ageHeaderLength(bytes, what)));
  const { unwrapAgeFileKey } = await import('./age-header.js');
  return { header, fileKey: await unwrapAgeFileKey(header, keys, what) };
}

async function openAgeManifest(bytes: Buffer, keys: AgeKeys, what: string): Promise<{ manifest: Manifest; codec: StreamCodec }> {
  const key = await openAgeStreamKey(bytes, keys, what);
  const manifest = parseManifest(openAgeObject(key, { kind: 'manifest' }, bytes, what), what);
  if (manifest.encryption.mode !== 'age') throw integrityError(`${what}: age-encrypted manifest claims a ${manifest.encryption.mode} stream`);
  return { manifest, codec: ageCodec(key, manifest.encryption) };
}

/**
 * Reads a stored manifest under the user's protection choice and returns it with the codec
 * for its chunks. A reader holding a key refuses a plaintext manifest: otherwise whoever can
 * write to the bucket could swap in a plaintext stream of their own.
 */
export async function openManifest(bytes: Buffer, p: Protection, what: string): Promise<{ manifest: Manifest; codec: StreamCodec }> {
  if (looksLikeAge(bytes)) {
    if (p.mode !== 'age') throw usageError(`${what}: the stream is age-encrypted; ${GIVE_AGE}`);
    return openAgeManifest(bytes, p.keys, what);
  }
  if (sealedKindOf(bytes) !== 'manifest') {
    if (bytes[0] !== 0x7b /* { */) throw integrityError(`${what}: not an s3duct manifest`);
    if (p.mode !== 'none')
      throw integrityError(`${what}: manifest is not encrypted but a key was given; refusing it (it may have been replaced)`);
    const manifest = parseManifest(bytes, what);
    if (manifest.encryption.mode !== 'none') throw integrityError(`${what}: plaintext manifest claims an encrypted stream`);
    return { manifest, codec: plainCodec(Buffer.from(manifest.streamId, 'hex')) };
  }
  if (p.mode !== 'aes-256-gcm') throw usageError(`${what}: the stream is encrypted with a symmetric key; give --key`);
  const { body, streamId, keys } = openWhole(bytes, p.key, 'manifest', what);
  const manifest = parseManifest(body, what);
  if (manifest.streamId !== streamId.toString('hex')) throw integrityError(`${what}: stream id of manifest and header differ`);
  if (manifest.encryption.mode !== 'aes-256-gcm') throw integrityError(`${what}: encrypted manifest claims a plaintext stream`);
  return { manifest, codec: aesCodec(p.key, streamId, keys) };
}
