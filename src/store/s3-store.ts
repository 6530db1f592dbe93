import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type _Object,
  RestoreObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { rechunk } from '../pipeline/rechunk.js';
import { Semaphore } from '../pipeline/semaphore.js';
import { parseRestoreHeader } from './restore-header.js';
import { abortUploadsUnder } from './incomplete-uploads.js';
import { classifyS3Error } from './s3-errors.js';
import { S3ductError, integrityError } from '../errors.js';
import { isArchiveClass } from '../format/storage-class.js';
import type { ByteRange, FolderEntry, IncompleteUpload, ListOptions, ObjectInfo, PutOptions, PutResult, RestoreState, RestoreTier, Store } from './store.js';

export interface S3StoreOptions {
  readonly bucket: string;
  readonly region?: string;
  readonly endpoint?: string;
  /** Attempts per request beyond the first. */
  readonly retries: number;
  /** 'when_required' for S3-compatible stores that reject the SDK's default CRC32 headers. */
  readonly checksumMode: 'when_supported' | 'when_required';
  readonly partSize: number;
  /** Parts uploading at once across all objects: bounds memory at partSize × (this + 1). */
  readonly uploadSlots: number;
  /** From a profile; otherwise the SDK's default chain (environment, ~/.aws, roles). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/**
 * S3 and S3-compatible stores. Multipart uploads are driven here rather than through
 * lib-storage's Upload so that every part buffer comes from one shared budget (memory is
 * bounded by part size × concurrency whatever the chunk size) and a failed upload is always
 * aborted explicitly instead of being left to bill.
 */
export class S3Store implements Store {
  readonly location: string;
  private readonly client: S3Client;
  private readonly slots: Semaphore;
  /** Set once the endpoint has refused OptionalObjectAttributes=RestoreStatus. */
  private noRestoreStatus = false;
  /** Part buffers whose parts the store acknowledged, for the next parts: a fresh buffer per
   *  part is freed only when the collector runs, long after its part was sent. */
  private readonly spareParts: Buffer[] = [];

  constructor(private readonly o: S3StoreOptions) {
    // The SDK version is pinned with s3duct, so its "future versions need Node 22" notice is
    // not something a user can act on; it would only clutter every run's stderr.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.location = o.endpoint ? `${o.endpoint.replace(/\/+$/, '')}/${o.bucket}` : `s3://${o.bucket}`;
    const mode = o.checksumMode === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    this.client = new S3Client({
      region: o.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1', // an empty variable counts as unset
      ...(o.endpoint ? { endpoint: o.endpoint, forcePathStyle: true } : {}),
      maxAttempts: o.retries + 1,
      // Without these a stalled connection waits forever; a timeout is retried like a reset.
      requestHandler: { connectionTimeout: 15_000, requestTimeout: requestTimeoutMs(), throwOnRequestTimeout: true } as any,
      ...(o.credentials ? { credentials: o.credentials } : {}),
      requestChecksumCalculation: mode,
      responseChecksumValidation: mode,
    });
    this.slots = new Semaphore(o.uploadSlots);
  }

  /** Keeps an acknowledged part's buffer for reuse. Only acknowledged ones: a request that
   *  failed might, in principle, still be reading its body. */
  private recycle(part: Buffer): void {
    if (part.buffer.byteLength === this.o.partSize && this.spareParts.length < this.o.uploadSlots)
      this.spareParts.push(Buffer.from(part.buffer, 0, this.o.partSize));
  }

  private what(key: string): string {
    return `${this.location}/${key}`;
  }

  async put(key: string, body: AsyncIterable<Buffer>, opts: PutOptions = {}): Promise<PutResult> {
    const common = {
      Bucket: this.o.bucket,
      Key: key,
      StorageClass: opts.storageClass as any,
      ContentType: opts.contentType ?? 'application/octet-stream',
      Metadata: opts.metadata as Record<string, string> | undefined,
      Tagging: opts.tags && Object.keys(opts.tags).length ? new URLSearchParams(opts.tags as Record<string, string>).toString() : undefined,
    };
    const parts = rechunk(body, this.o.partSize, () => this.spareParts.pop() ?? Buffer.allocUnsafeSlow(this.o.partSize))[Symbol.asyncIterator]();
    await this.slots.acquire();
    let held = 1;
    try {
      const first = await parts.next();
      const firstBuf = first.done ? Buffer.alloc(0) : first.value;
      // A full first part goes multipart at once, in the slot it holds: asking for a second slot
      // before sending it would hold one slot while waiting for another, and puts doing that
      // in every slot wait for each other forever. (Exactly one part's worth then makes an
      // upload of one part, which S3 accepts.)
      if (firstBuf.length < this.o.partSize) {
        await opts.beforeCommit?.();
        const r = await this.client.send(new PutObjectCommand({ ...common, Body: firstBuf, ContentLength: firstBuf.length }));
        this.recycle(firstBuf);
        opts.onAcked?.(firstBuf.length);
        return { size: firstBuf.length, etag: r.ETag };
      }
      const created = await this.client.send(new CreateMultipartUploadCommand(common));
      const uploadId = created.UploadId!;
      held = 0; // uploadParts owns the slot from here
      try {
        return await this.uploadParts(key, uploadId, firstBuf, parts, opts);
      } catch (e) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: key, UploadId: uploadId })).catch(() => {});
        throw e;
      }
    } catch (e) {
      await parts.return?.(undefined);
      throw classifyS3Error(e, this.what(key));
    } finally {
      while (held-- > 0) this.slots.release();
    }
  }

  /** Uploads parts concurrently, each holding one slot from read until acknowledgement. */
  private async uploadParts(
    key: string,
    uploadId: string,
    first: Buffer,
    rest: AsyncIterator<Buffer>,
    opts: PutOptions,
  ): Promise<PutResult> {
    const done: CompletedPart[] = [];
    const inflight = new Set<Promise<void>>();
    let failed: unknown;
    let size = 0;
    let partNumber = 0;
    const send = (buf: Buffer) => {
      const n = ++partNumber;
      size += buf.length;
      const p = this.client
        .send(new UploadPartCommand({ Bucket: this.o.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: buf, ContentLength: buf.length }))
        .then((r) => {
          done.push({ PartNumber: n, ETag: r.ETag });
          this.recycle(buf);
          opts.onAcked?.(buf.length);
        })
        .catch((e) => {
          failed ??= e;
        })
        .finally(() => {
          inflight.delete(p);
          this.slots.release();
        });
      inflight.add(p);
    };
    send(first);
    try {
      while (failed === undefined) {
        await this.slots.acquire();
        let next: IteratorResult<Buffer>;
        try {
          next = await rest.next();
        } catch (e) {
          this.slots.release();
          throw e;
        }
        if (next.done || failed !== undefined) {
          this.slots.release();
          break;
        }
        send(next.value);
      }
    } finally {
      await Promise.all(inflight);
    }
    if (failed !== undefined) throw failed;
    done.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await opts.beforeCommit?.();
    const r = await this.client.send(
      new CompleteMultipartUploadCommand({ Bucket: this.o.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }),
    );
    return { size, etag: r.ETag };
  }

  async get(key: string, range?: ByteRange, into?: Uint8Array): Promise<Buffer> {
    if (range && range.end <= range.start) return Buffer.alloc(0);
    // The SDK retries requests, not a body that breaks mid-read: retry those here.
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.client.send(
          new GetObjectCommand({ Bucket: this.o.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined }),
        );
        // An object shorter than the range asked for was truncated or replaced: no retry mends
        // that. A body cut short by the network is what the retries are for.
        const total = Number(/\/(\d+)$/.exec(r.ContentRange ?? '')?.[1] ?? NaN);
        if (range && total < range.end) {
          (r.Body as { destroy?(): void } | undefined)?.destroy?.(); // unread, it would hold its connection
          throw shorterThanExpected(this.what(key), total);
        }
        const buf = into ? await readBodyInto(r.Body as AsyncIterable<Uint8Array>, into) : await bodyBytes(r.Body!);
        if (range && buf.length !== range.end - range.start) throw Object.assign(new Error(`short read: ${buf.length} of ${range.end - range.start} bytes`), { retryable: true });
        return buf;
      } catch (e: any) {
        if (e instanceof S3ductError) throw e;
        if (range && (e?.name === 'InvalidRange' || e?.$metadata?.httpStatusCode === 416)) throw shorterThanExpected(this.what(key));
        const transient = e?.retryable || (!e?.$metadata?.httpStatusCode && !(e?.name && /NoSuch|InvalidObjectState|AccessDenied/.test(e.name)));
        if (!transient || attempt >= this.o.retries) throw classifyS3Error(e, this.what(key));
        await backoff(attempt);
      }
    }
  }

  async create(key: string, body: Buffer, opts: PutOptions = {}): Promise<'created' | 'exists' | 'unsure'> {
    const input = { Bucket: this.o.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: opts.contentType ?? 'application/octet-stream' };
    try {
      await this.client.send(new PutObjectCommand({ ...input, IfNoneMatch: '*' }));
      return 'created';
    } catch (e: any) {
      const status = e?.$metadata?.httpStatusCode;
      if (status === 412 || e?.name === 'PreconditionFailed') return 'exists';
      // 501: stores without conditional writes (OpenStack Swift's s3api): HEAD, then PUT.
      if (status !== 501 && e?.name !== 'NotImplemented') throw classifyS3Error(e, this.what(key));
    }
    if (await this.head(key)) return 'exists';
    try {
      await this.client.send(new PutObjectCommand(input));
      return 'unsure';
    } catch (e) {
      throw classifyS3Error(e, this.what(key));
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: key }));
      return {
        key,
        size: r.ContentLength ?? 0,
        etag: r.ETag,
        storageClass: r.StorageClass ?? 'STANDARD',
        contentType: r.ContentType,
        lastModified: r.LastModified,
        restore: parseRestoreHeader(r.Restore),
      };
    } catch (e: any) {
      if (e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404) return null;
      throw classifyS3Error(e, this.what(key));
    }
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    for await (const page of this.pages(prefix, undefined, opts.restoreStatus === true)) {
      for (const o of page.Contents ?? []) yield listedInfo(o);
    }
  }

  async *listFolder(prefix: string): AsyncIterable<FolderEntry> {
    for await (const page of this.pages(prefix, '/', false)) {
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) yield { kind: 'folder', prefix: p.Prefix };
      for (const o of page.Contents ?? []) yield { kind: 'object', info: listedInfo(o) };
    }
  }

  /** ListObjectsV2 pages. An endpoint that rejects the restore-status attribute is asked
   *  again without it (once per store): its objects then come back `unreported`. */
  private async *pages(prefix: string, delimiter: string | undefined, restoreStatus: boolean): AsyncIterable<ListObjectsV2CommandOutput> {
    let token: string | undefined;
    do {
      let r: ListObjectsV2CommandOutput;
      const ask = (withStatus: boolean) =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.o.bucket,
            Prefix: prefix,
            Delimiter: delimiter,
            ContinuationToken: token,
            OptionalObjectAttributes: withStatus ? ['RestoreStatus'] : undefined,
          }),
        );
      try {
        try {
          r = await ask(restoreStatus && !this.noRestoreStatus);
        } catch (e: any) {
          const status = e?.$metadata?.httpStatusCode;
          if (!restoreStatus || this.noRestoreStatus || (status !== 400 && status !== 501)) throw e;
          this.noRestoreStatus = true;
          r = await ask(false);
        }
      } catch (e) {
        throw classifyS3Error(e, this.what(prefix));
      }
      yield r;
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async abortUploads(prefix: string): Promise<number> {
    return abortUploadsUnder(this, prefix);
  }

  async requestRestore(key: string, days: number, tier: RestoreTier): Promise<void> {
    try {
      await this.client.send(new RestoreObjectCommand({ Bucket: this.o.bucket, Key: key, RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } } }));
    } catch (e: any) {
      // A second request while the first runs is the idempotent case, not a failure.
      if (e?.name === 'RestoreAlreadyInProgress' || e?.Code === 'RestoreAlreadyInProgress') return;
      throw classifyS3Error(e, this.what(key));
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 1) {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: keys[0] }));
      } catch (e) {
        throw classifyS3Error(e, this.what(keys[0]!));
      }
      return;
    }
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const cmd = new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } });
        cmd.middlewareStack.add(contentMd5, { step: 'build', name: 's3ductContentMd5' });
        const r = await this.client.send(cmd);
        const errs = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (errs.length) throw Object.assign(new Error(errs[0]!.Message ?? 'delete failed'), { name: errs[0]!.Code });
      } catch (e: any) {
        throw classifyS3Error(e, this.what(batch[0]!));
      }
    }
  }

  async *listIncomplete(prefix: string): AsyncIterable<IncompleteUpload> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.o.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
      } catch (e) {
        throw classifyS3Error(e, this.what(prefix));
      }
      for (const u of r.Uploads ?? []) if (u.Key && u.UploadId) yield { key: u.Key, id: u.UploadId, ...(u.Initiated ? { started: u.Initiated } : {}) };
      const more = r.IsTruncated && (r.NextKeyMarker || r.NextUploadIdMarker);
      keyMarker = more ? r.NextKeyMarker : undefined;
      uploadIdMarker = more ? r.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined || uploadIdMarker !== undefined);
  }

  async abortIncomplete(u: IncompleteUpload): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: u.key, UploadId: u.id }));
    } catch (e: any) {
      if (e?.name === 'NoSuchUpload' || e?.$metadata?.httpStatusCode === 404) return;
      throw classifyS3Error(e, this.what(u.key));
    }
  }

  /** The SDK moves its clock offset to the Date header of every answer it signs for. */
  now(): number {
    return Date.now() + (this.client.config.systemClockOffset ?? 0);
  }
}

/**
 * Multi-object delete requires Content-MD5 on some S3 implementations (Swift's s3api among
 * them) while SDK v3 sends only its newer CRC checksums: add the MD5 the protocol defines.
 */
const contentMd5 = (next: any) => async (args: any) => {
  const req = args.request;
  if (req?.body && typeof req.body === 'string') req.headers['content-md5'] = createHash('md5').update(req.body).digest('base64');
  return next(args);
};

/** Idle time after which a request counts as stalled and is retried (S3DUCT_REQUEST_TIMEOUT,
 *  seconds; default 120: generous for a 16 MiB part on a slow uplink). */
function requestTimeoutMs(): number {
  const s = Number(process.env.S3DUCT_REQUEST_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 120_000;
}

function listedInfo(o: _Object): ObjectInfo {
  const storageClass = o.StorageClass ?? 'STANDARD';
  return { key: o.Key!, size: o.Size ?? 0, etag: o.ETag, storageClass, lastModified: o.LastModified, restore: listedRestore(storageClass, o.RestoreStatus) };
}

/** Restore state from a listing. Absence of RestoreStatus on an archived object is ambiguous
 *  (no restore requested, or an endpoint that does not report it), so it stays `unreported`. */
export function listedRestore(storageClass: string, rs: { IsRestoreInProgress?: boolean; RestoreExpiryDate?: Date } | undefined): RestoreState {
  if (!isArchiveClass(storageClass)) return { state: 'none' };
  if (!rs) return { state: 'unreported' };
  if (rs.IsRestoreInProgress) return { state: 'ongoing' };
  return rs.RestoreExpiryDate ? { state: 'restored', expiry: rs.RestoreExpiryDate } : { state: 'restored' };
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20_000, 100 * 2 ** attempt);
  return new Promise((r) => setTimeout(r, ms));
}

async function bodyBytes(body: { transformToByteArray(): Promise<Uint8Array> }): Promise<Buffer> {
  const bytes = await body.transformToByteArray();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Copies a response body into `into` as it arrives; a body longer than `into` is a short
 *  read's opposite and fails the same way (retried). */
async function readBodyInto(body: AsyncIterable<Uint8Array>, into: Uint8Array): Promise<Buffer> {
  let n = 0;
  for await (const piece of body) {
    if (n + piece.length > into.length) throw Object.assign(new Error(`long read: more than ${into.length} bytes`), { retryable: true });
    into.set(piece, n);
    n += piece.length;
  }
  return Buffer.from(into.buffer, into.byteOffset, n);
}

function shorterThanExpected(what: string, size?: number): S3ductError {
  return integrityError(`${what}: the object is shorter than expected${size !== undefined ? ` (${size} bytes)` : ''}: truncated or replaced`);
}
