/**
 * The one storage interface every command works through. Implementations: a local directory
 * and S3. Keys are relative to the store's root (bucket + prefix are the store's business).
 */
export interface PutOptions {
  readonly storageClass?: string;
  readonly contentType?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly tags?: Readonly<Record<string, string>>;
  /** Called with byte counts as the store acknowledges them (not as they are sent). */
  readonly onAcked?: (bytes: number) => void;
  /**
   * Awaited right before the object becomes visible under its key (the request that commits
   * it, or the rename). A rejection abandons the write as a failed body does: nothing appears.
   */
  readonly beforeCommit?: () => Promise<void>;
}

export interface PutResult {
  readonly size: number;
  readonly etag?: string;
}

/** Archive state of one object, in the store's own terms mapped to ours. */
export type RestoreState =
  | { readonly state: 'none' }
  | { readonly state: 'ongoing' }
  | { readonly state: 'restored'; readonly expiry?: Date }
  /** A listing did not say (the endpoint may not report restore status): HEAD the object. */
  | { readonly state: 'unreported' };

/** Retrieval tiers of S3's RestoreObject. */
export const RESTORE_TIERS = ['Bulk', 'Standard', 'Expedited'] as const;
export type RestoreTier = (typeof RESTORE_TIERS)[number];

export interface ListOptions {
  /**
   * Ask the store to report each object's restore state in the listing (S3:
   * OptionalObjectAttributes=RestoreStatus). Objects the listing says nothing about come back
   * as `unreported`; without this option, archived objects always do.
   */
  readonly restoreStatus?: boolean;
}

/** One entry of a single-level (delimiter) listing: an object, or a folder to descend into. */
export type FolderEntry =
  | { readonly kind: 'object'; readonly info: ObjectInfo }
  /** `prefix` is the folder's full key prefix, ending in "/". */
  | { readonly kind: 'folder'; readonly prefix: string };

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
  readonly storageClass: string;
  /** From HEAD only; undefined where the store keeps none (a local directory) or in listings. */
  readonly contentType?: string;
  readonly lastModified?: Date;
  readonly restore: RestoreState;
}

export interface ByteRange {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

/**
 * A write that was started and never finished: an S3 multipart upload that was neither
 * completed nor aborted, or a local store's temporary file. Invisible to list/get, but it
 * holds storage (and on S3 is billed) until aborted.
 */
export interface IncompleteUpload {
  /** The key the write was for. */
  readonly key: string;
  /** What identifies this write to abortIncomplete (upload id, temporary file name). */
  readonly id: string;
  readonly started?: Date;
}

/** The store and prefix as messages name them: where a user would go and look for a stream. */
export function storeWhere(store: Pick<Store, 'location'>, prefix: string): string {
  return prefix ? `${store.location}/${prefix.replace(/\/$/, '')}` : store.location;
}

export interface Store {
  /** Identifies the store for humans and for resume state ("s3://bucket/prefix", "file:/dir"). */
  readonly location: string;
  /**
   * Stores `body` under `key`, replacing any object there. Resolves once the store has
   * acknowledged every byte; rejects without leaving a partial object visible under `key`.
   * Consumes `body` at the pace the store accepts it (backpressure). A piece of `body` is the
   * store's only until it asks for the next one: the pipeline then reuses its memory, so a
   * store that keeps bytes longer copies them.
   */
  put(key: string, body: AsyncIterable<Buffer>, opts?: PutOptions): Promise<PutResult>;
  /**
   * Stores a small object only if there is none under `key`. Atomic where the store can say
   * so (S3's If-None-Match, O_EXCL on a file system): 'created' or 'exists'. A store that
   * refuses conditional writes gets a HEAD before the PUT: 'unsure', as another writer may
   * have done the same at the same moment, so callers read back, after a pause, what they
   * need to own.
   */
  create(key: string, body: Buffer, opts?: PutOptions): Promise<'created' | 'exists' | 'unsure'>;
  /**
   * The object's bytes, or the given range of them. Throws notFound / notReady errors. With
   * `into` (at least the range's length), the bytes are read into it and the result is a view
   * of it: a restore reuses a few range buffers instead of leaving each to the collector.
   */
  get(key: string, range?: ByteRange, into?: Uint8Array): Promise<Buffer>;
  /** Metadata, or null if there is no such object. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Objects under `prefix`, in key order. */
  list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo>;
  /**
   * The objects and folders directly under `prefix` (which is "" or ends in "/"), like a
   * listing with delimiter "/": a folder's contents are never enumerated, so walking a tree
   * costs one listing per folder visited, whatever the folders not visited hold.
   */
  listFolder(prefix: string): AsyncIterable<FolderEntry>;
  /**
   * Asks the store to make an archived object readable for `days` days at `tier`. Resolves
   * once the request is accepted; a restore already in progress counts as accepted. Only
   * called for objects in an archive class (GLACIER, DEEP_ARCHIVE) that are not restored.
   */
  requestRestore(key: string, days: number, tier: RestoreTier): Promise<void>;
  /** Deletes the keys; missing keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Incomplete uploads whose key starts with `prefix` (what interrupted writes left). */
  listIncomplete(prefix: string): AsyncIterable<IncompleteUpload>;
  /** Discards an incomplete upload; one already gone is not an error. */
  abortIncomplete(upload: IncompleteUpload): Promise<void>;
  /** Aborts every incomplete upload under `prefix`; returns how many. */
  abortUploads(prefix: string): Promise<number>;
  /**
   * The store's clock (ms since the epoch) as far as it is known: lastModified times compare
   * with it, never with this machine's clock, which may be minutes off.
   */
  now(): number;
}

/** The folders directly under `prefix`: a stream walk that never enumerates any folder's objects. */
export async function* childFolders(store: Store, prefix: string): AsyncIterable<string> {
  for await (const e of store.listFolder(prefix)) if (e.kind === 'folder') yield e.prefix;
}

/** An ETag compared as its value: some answers quote it, some mark it weak (W/). */
export const bareEtag = (e: string | undefined): string | undefined => e?.replace(/^W\//, '').replace(/"/g, '') || undefined;
