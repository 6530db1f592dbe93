import * as path from 'node:path';
import { usageError } from '../errors.js';
import { normalizePrefix } from '../format/layout.js';
import type { S3StoreOptions } from './s3-store.js';
import type { Store } from './store.js';

export interface StoreSpec {
  /** `file:DIR` or `s3://bucket[/prefix]`. */
  readonly store?: string;
  readonly bucket?: string;
  readonly prefix?: string;
  readonly endpointUrl?: string;
  readonly region?: string;
  readonly retries: number;
  readonly checksumMode: 'when_supported' | 'when_required';
  readonly partSize: number;
  readonly uploadSlots: number;
  readonly credentials?: S3StoreOptions['credentials'];
}

export interface OpenedStore {
  readonly store: Store;
  /** Key prefix inside the store, "" or ending in "/". */
  readonly prefix: string;
}

/** Opens the store a command names. The S3 SDK is imported only when an S3 store is used:
 *  it costs ~100 ms of start-up that local-store and --help runs should not pay. */
export async function openStore(s: StoreSpec): Promise<OpenedStore> {
  let bucket = s.bucket;
  let prefix = s.prefix;
  if (s.store) {
    if (s.bucket) throw usageError('give either --store or --bucket, not both');
    if (s.store.startsWith('file:')) {
      const dir = s.store.slice(5);
      if (!dir) throw usageError('--store file: needs a directory, e.g. --store file:./backups');
      const { LocalStore } = await import('./local-store.js');
      return { store: new LocalStore(path.resolve(dir)), prefix: normalizePrefix(prefix) };
    }
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(s.store);
    if (!m) throw usageError(`--store "${s.store}": use file:DIR or s3://BUCKET[/PREFIX]`);
    bucket = m[1];
    if (m[2] && prefix) throw usageError('give the prefix either in --store s3://bucket/prefix or with --prefix, not both');
    prefix = m[2] || prefix;
  }
  if (!bucket) throw usageError('no store given: use --bucket NAME (S3) or --store file:DIR (local directory)');
  checkBucket(bucket);
  const { S3Store } = await import('./s3-store.js');
  return {
    store: new S3Store({
      bucket,
      region: s.region,
      endpoint: s.endpointUrl,
      retries: s.retries,
      checksumMode: s.checksumMode,
      partSize: s.partSize,
      uploadSlots: s.uploadSlots,
      credentials: s.credentials,
    }),
    prefix: normalizePrefix(prefix),
  };
}

/**
 * A bucket name, not a URL: "user:secret@bucket" would put a secret into every message that
 * names the store, and "bucket/dir" is a prefix. Otherwise lenient (S3-compatible stores
 * allow names AWS does not). The name itself is not echoed: it may hold a secret.
 */
function checkBucket(bucket: string): void {
  if (bucket.includes('@')) throw usageError('the bucket name holds "@": credentials never go into the store name (they come from the environment, ~/.aws or the profile)');
  if (bucket.startsWith('arn:')) return; // an access point ARN, which the SDK resolves
  if (bucket.includes('/')) throw usageError('a bucket name has no "/": give the rest with --prefix');
  // ":" for Ceph RGW's tenant:bucket.
  if (!/^[A-Za-z0-9._:-]{3,255}$/.test(bucket)) throw usageError('invalid bucket name: use 3 or more letters, digits, dots, hyphens or underscores');
}
