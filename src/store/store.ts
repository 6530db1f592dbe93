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
}

export interface PutResult {
  readonly size: number;
  readonly etag?: string;
}

/** Archive state of one object, in the store's own terms mapped to ours. */
export type RestoreState =
  | { readonly state: 'none' }
  | { readonly state: 'ongoing' }
  | { readonly state: 'restored'; readonly expiry?: Date };

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
  readonly storageClass: string;
  readonly lastModified?: Date;
  readonly restore: RestoreState;
}

export interface ByteRange {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

export interface Store {
  /** Identifies the store for humans and for resume state ("s3://bucket/prefix", "file:/dir"). */
  readonly location: string;
  /**
   * Stores `body` under `key`, replacing any object there. Resolves once the store has
   * acknowledged every byte; rejects without leaving a partial object visible under `key`.
   * Consumes `body` at the pace the store accepts it (backpressure).
   */
  put(key: string, body: AsyncIterable<Buffer>, opts?: PutOptions): Promise<PutResult>;
  /** The object's bytes, or the given range of them. Throws notFound / notReady errors. */
  get(key: string, range?: ByteRange): Promise<Buffer>;
  /** Metadata, or null if there is no such object. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Objects under `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * The "directories" directly under `prefix` ("" or ending in "/"): each returned string is
   * a key prefix ending in "/". Lets a caller find streams without listing their chunks.
   */
  listChildren(prefix: string): AsyncIterable<string>;
  /** Deletes the keys; missing keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
}
