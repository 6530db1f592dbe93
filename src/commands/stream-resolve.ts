import { looksLikeAge } from '../crypto/age-payload.js';
import { sealedKindOf } from '../crypto/segmented-aead.js';
import { openManifest, type Protection } from '../crypto/stream-codec.js';
import { ExitCode, S3ductError, integrityError, notFoundError, type ExitCodeValue } from '../errors.js';
import { StreamLayout } from '../format/layout.js';
import { streamIdOfPrivateId } from '../format/private-id.js';
import { childFolders, storeWhere, type Store } from '../store/store.js';
import { openStream, readManifest, type OpenStream } from './stream-access.js';
import { openTarget, type Target, type TargetOptions } from './target.js';

/** One private stream found under a prefix, as `list` shows it. */
export type PrivateEntry =
  | ({ readonly kind: 'stream'; readonly id: string } & OpenStream)
  /** Chunks but no manifest: a put that has not finished (or is running). */
  | { readonly kind: 'unfinished'; readonly id: string }
  /** A manifest this key cannot open: another profile's stream in a shared bucket. */
  | { readonly kind: 'foreign'; readonly id: string; readonly reason: string }
  /** A manifest that fails its checks (this key's stream damaged or replaced, for all we can
   *  tell), or that the store will not give (archived, access denied): its name is unknown. */
  | { readonly kind: 'damaged'; readonly id: string; readonly reason: string; readonly exitCode: ExitCodeValue };

/**
 * Reads the manifest of the private stream `id` and checks it belongs there: the stream id
 * inside the authenticated manifest must be the one the object key names, so a manifest
 * copied under another id is refused (the counterpart of the name check for named streams).
 */
export async function openPrivateStream(store: Store, prefix: string, id: string, protection: Protection, bytes?: Buffer): Promise<OpenStream> {
  const streamId = streamIdOfPrivateId(id);
  if (!streamId) throw integrityError(`"${id}" is not a private stream id`);
  const layout = new StreamLayout(prefix, id);
  const { manifest, codec } = await openManifest(bytes ?? (await readManifest(store, layout, id)), protection, `stream ${id} manifest`);
  if (manifest.streamId !== streamId.toString('hex')) throw integrityError(`stream ${id}: manifest belongs to another stream (moved or replaced)`);
  return { layout, manifest, codec };
}

/**
 * Every private stream directly under `prefix`, reading one manifest per stream and never a
 * chunk listing. Keys that are not private ids (other programs' objects, named streams) are
 * passed over without a request.
 */
export async function* listPrivateStreams(store: Store, prefix: string, protection: Protection): AsyncIterable<PrivateEntry> {
  for await (const dir of childFolders(store, prefix)) {
    const id = dir.slice(prefix.length, -1);
    if (!streamIdOfPrivateId(id)) continue;
    let bytes: Buffer;
    try {
      bytes = await readManifest(store, new StreamLayout(prefix, id), id);
    } catch (e) {
      if (!(e instanceof S3ductError) || e.exitCode === ExitCode.failure) throw e;
      // Archived or access denied: not another key's stream, only one this command cannot read.
      yield e.exitCode === ExitCode.notFound ? { kind: 'unfinished', id } : { kind: 'damaged', id, reason: e.message, exitCode: e.exitCode };
      continue;
    }
    try {
      yield { kind: 'stream', id, ...(await openPrivateStream(store, prefix, id, protection, bytes)) };
    } catch (e) {
      if (!(e instanceof S3ductError) || e.exitCode === ExitCode.failure) throw e; // store trouble is not "foreign"
      if (e.exitCode === ExitCode.integrity && (await isSealedManifest(store, prefix, id))) yield { kind: 'damaged', id, reason: e.message, exitCode: e.exitCode };
      else yield { kind: 'foreign', id, reason: e.message };
    }
  }
}

/** Whether the object under a private id is a sealed manifest (AES or age), so failing its
 *  checks makes it this key's stream damaged or rolled back, not someone else's file. */
async function isSealedManifest(store: Store, prefix: string, id: string): Promise<boolean> {
  const head = await store.get(new StreamLayout(prefix, id).manifest, { start: 0, end: 32 }).catch(() => Buffer.alloc(0));
  return sealedKindOf(head) === 'manifest' || looksLikeAge(head);
}

/** Newest first, by completion time: the order `list` shows versions and `get NAME` picks. */
export function newestFirst<T extends { manifest: { completedAt: string } }>(a: T, b: T): number {
  return b.manifest.completedAt.localeCompare(a.manifest.completedAt);
}

/**
 * What a command names as a stream → the stream. A private id opens that stream directly;
 * with private names a name means its newest complete version; otherwise the name is the
 * object key (named streams, docs/FORMAT.md section 1).
 */
export async function resolveStream(t: Pick<Target, 'store' | 'prefix' | 'protection' | 'privateNames'>, ref: string): Promise<OpenStream & { id: string }> {
  if (streamIdOfPrivateId(ref)) return { id: ref, ...(await openPrivateStream(t.store, t.prefix, ref, t.protection)) };
  if (!t.privateNames) return { id: ref, ...(await openStream(t.store, t.prefix, ref, t.protection)) };
  const matches: Array<OpenStream & { id: string }> = [];
  const damaged: Array<Extract<PrivateEntry, { kind: 'damaged' }>> = [];
  for await (const e of listPrivateStreams(t.store, t.prefix, t.protection)) {
    if (e.kind === 'stream' && e.manifest.name === ref) matches.push(e);
    else if (e.kind === 'damaged') damaged.push(e);
  }
  const newest = matches.sort(newestFirst)[0];
  // A manifest damaged or unreadable hides its name: it may be the newest version of this
  // one, and taking the next would quietly restore an older backup as if it were the latest.
  if (damaged.length) {
    const unreadable = damaged.find((d) => d.exitCode !== ExitCode.integrity);
    const has = damaged.length > 1 ? 'have' : 'has';
    const what = unreadable ? `a manifest this command cannot read (${unreadable.reason})` : `${damaged.length > 1 ? 'damaged manifests' : 'a damaged manifest'}`;
    throw new S3ductError(
      `cannot tell which version of "${ref}" is the newest: ${damaged.map((d) => d.id).join(', ')} ${has} ${what} (see s3duct list); ${
        newest ? `to restore the newest readable version anyway, name it by id: ${newest.id}` : 'no readable version was found'
      }`,
      unreadable?.exitCode ?? ExitCode.integrity,
    );
  }
  if (!newest) throw notFoundError(`no stream named "${ref}" at ${storeWhere(t.store, t.prefix)}`);
  return newest;
}

/**
 * The one call for a command that acts on one stream (get, head, restore, verify): the store
 * and key from the profile or the flags (openTarget), then the stream by name or id.
 */
export async function openStreamRef(o: TargetOptions, ref: string): Promise<OpenStream & { id: string; target: Target }> {
  const target = await openTarget(o, 'read');
  return { ...(await resolveStream(target, ref)), target };
}
