import { chunkStateOf, type ChunkState } from '../archive/chunk-status.js';
import { openManifest, type Protection } from '../crypto/stream-codec.js';
import { ExitCode, S3ductError } from '../errors.js';
import { looksLikeAge } from '../crypto/age-payload.js';
import { MANIFEST_LEAF, StreamLayout } from '../format/layout.js';
import type { EncryptionInfo, Manifest } from '../format/manifest.js';
import { streamIdOfPrivateId } from '../format/private-id.js';
import { isArchiveClass } from '../format/storage-class.js';
import { mapLimit } from '../pipeline/map-limit.js';
import { CHUNK_CONTENT_TYPE } from '../pipeline/put-stream.js';
import type { Store } from '../store/store.js';

/** Listings and manifest reads in flight at once. */
const CONCURRENCY = 8;

export type ListedStatus = 'readable' | 'restored' | 'restoring' | 'archived' | 'mixed' | 'incomplete' | 'unknown';

export interface StreamRow {
  /** The name the manifest records (authoritative when it could be read), else the path. */
  readonly name: string;
  /** Where the stream's objects are, relative to the prefix. */
  readonly path: string;
  readonly size?: number;
  readonly chunks?: number;
  readonly createdAt?: string;
  readonly completedAt?: string;
  readonly storageClass?: string;
  readonly status: ListedStatus;
  /** 'unknown' for an unfinished put: only its manifest would say, and it has none yet. */
  readonly encryption: EncryptionInfo['mode'] | 'unknown';
  /** Why some fields are missing: "no key", "wrong key", "damaged manifest: …". */
  readonly note?: string;
}

interface Candidate {
  readonly folder: string;
  readonly complete: boolean;
}

/**
 * Finds the streams under `prefix` by walking folders one level at a time: a folder holding a
 * `manifest` is a stream, one holding only `chunks/` an unfinished put. `chunks/` folders are
 * never listed (a stream's chunks can number in the millions), and a stream's row comes from
 * its manifest plus, for archive classes, a HEAD of its first and last chunk.
 */
export async function listStreams(store: Store, prefix: string, protection: Protection): Promise<StreamRow[]> {
  const candidates: Candidate[] = [];
  let frontier = [prefix];
  while (frontier.length) {
    const levels = await mapLimit(frontier, CONCURRENCY, async (folder) => {
      const subfolders: string[] = [];
      let manifest = false;
      let chunks = false;
      for await (const e of store.listFolder(folder)) {
        if (e.kind === 'object') manifest ||= e.info.key === folder + MANIFEST_LEAF;
        else if (e.prefix === `${folder}chunks/`) chunks = true;
        else subfolders.push(e.prefix);
      }
      return { folder, subfolders, manifest, chunks };
    });
    frontier = [];
    for (const l of levels) {
      if (l.folder !== prefix && (l.manifest || l.chunks)) candidates.push({ folder: l.folder, complete: l.manifest });
      frontier.push(...l.subfolders);
    }
  }
  const rows = await mapLimit(candidates, CONCURRENCY, (c) => readRow(store, prefix, c, protection));
  // Versions of one name (private names) come newest first.
  return rows
    .filter((r): r is StreamRow => r !== null)
    // Versions of a name newest first by completion, the order get NAME picks them in.
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : (b.completedAt ?? '').localeCompare(a.completedAt ?? '')));
}

/** Whether the folder holds s3duct's chunks: someone else's "chunks/" folder is not ours. */
async function holdsOurChunks(store: Store, layout: StreamLayout): Promise<boolean> {
  const first = await store.head(layout.chunk(0));
  return !!first && (first.contentType === undefined || first.contentType === CHUNK_CONTENT_TYPE);
}

async function readRow(store: Store, prefix: string, c: Candidate, protection: Protection): Promise<StreamRow | null> {
  const path = c.folder.slice(prefix.length, -1);
  const layout = new StreamLayout(prefix, path);
  if (!c.complete) {
    if (!(await holdsOurChunks(store, layout))) return null;
    return { name: path, path, status: 'incomplete', encryption: 'unknown', note: 'put never finished; run the same put again to resume' };
  }
  let bytes: Buffer;
  try {
    bytes = await store.get(layout.manifest);
  } catch (e) {
    // One manifest the store will not give (archived by a lifecycle rule, access denied) is
    // that stream's trouble, shown on its row: the listing of every other stream goes on.
    if (!(e instanceof S3ductError && (e.exitCode === ExitCode.notReady || e.exitCode === ExitCode.auth))) throw e;
    const archived = e.exitCode === ExitCode.notReady;
    return { name: path, path, status: archived ? 'archived' : 'unknown', encryption: 'unknown', note: archived ? 'manifest archived: s3duct restore requests it first' : `manifest unreadable: ${e.message}` };
  }
  const mode: EncryptionInfo['mode'] | null =
    bytes.subarray(0, 4).toString('latin1') === 'S3DM' ? 'aes-256-gcm' : looksLikeAge(bytes) ? 'age' : bytes[0] === 0x7b ? 'none' : null;
  // A damaged manifest beside our chunks is a damaged stream, shown as such: hiding it would
  // make a backup that needs attention look like no backup at all.
  const unreadable = async (note: string, encryption: EncryptionInfo['mode']): Promise<StreamRow> =>
    ({ name: path, path, status: await sampledStatus(store, layout, [0]), encryption, note });
  if (mode === null) return (await holdsOurChunks(store, layout)) ? unreadable('damaged manifest', 'none') : null;
  let manifest: Manifest;
  try {
    // Listing trusts a plaintext manifest for display only; get still refuses one under a key.
    manifest = (await openManifest(bytes, mode === 'none' ? { mode: 'none' } : protection, `stream "${path}" manifest`)).manifest;
  } catch (e) {
    if (!(e instanceof S3ductError)) throw e;
    if (mode === 'none' && /not an s3duct manifest/.test(e.message) && !(await holdsOurChunks(store, layout))) return null;
    return unreadable(unreadableNote(mode, protection, e), mode);
  }
  // The checks get makes before trusting a manifest: one moved or copied here is damage, not
  // a version to show with another stream's name or date.
  // (A named stream's key is its put's prefix and name, and this listing's prefix may hold part of that name.)
  const ownId = streamIdOfPrivateId(path);
  const key = c.folder.slice(0, -1);
  if (ownId ? manifest.streamId !== ownId.toString('hex') : key !== manifest.name && !key.endsWith(`/${manifest.name}`)) return unreadable('damaged manifest', mode);
  const last = manifest.chunks.length - 1;
  return {
    name: manifest.name,
    path,
    size: manifest.stream.size,
    chunks: manifest.chunks.length,
    createdAt: manifest.createdAt,
    completedAt: manifest.completedAt,
    storageClass: manifest.storageClass,
    status: isArchiveClass(manifest.storageClass) ? await sampledStatus(store, layout, last > 0 ? [0, last] : [0]) : 'readable',
    encryption: manifest.encryption.mode,
  };
}

function unreadableNote(mode: EncryptionInfo['mode'], protection: Protection, e: S3ductError): string {
  if (mode === 'none' || e.exitCode === ExitCode.integrity) return 'damaged manifest';
  if (protection.mode === 'none') return mode === 'age' ? 'age-encrypted; give --age-identity to see details' : 'encrypted; give --key to see details';
  if (e.exitCode === ExitCode.auth) return 'cannot open manifest with this key';
  return mode === 'age' ? 'age-encrypted; give --age-identity to see details' : 'encrypted with a key; give --key to see details';
}

/** The archive status of a few chunks (head checks all of them). */
async function sampledStatus(store: Store, layout: StreamLayout, indexes: number[]): Promise<ListedStatus> {
  const now = new Date();
  const states: ChunkState[] = await Promise.all(indexes.map(async (i) => chunkStateOf(await store.head(layout.chunk(i)), now)));
  const kinds = new Set(states.map((s) => s.kind));
  if (kinds.size > 1) return kinds.has('missing') || kinds.has('unknown') ? 'unknown' : 'mixed';
  const k = [...kinds][0]!;
  return k === 'missing' ? 'unknown' : k;
}
