import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { rechunk } from '../pipeline/rechunk.js';
import { Semaphore } from '../pipeline/semaphore.js';
import { parseRestoreHeader } from './restore-header.js';
import { classifyS3Error } from './s3-errors.js';
import type { ByteRange, ObjectInfo, PutOptions, PutResult, Store } from './store.js';

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

  constructor(private readonly o: S3StoreOptions) {
    this.location = o.endpoint ? `${o.endpoint.replace(/\/+$/, '')}/${o.bucket}` : `s3://${o.bucket}`;
    const mode = o.checksumMode === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    this.client = new S3Client({
      region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      ...(o.endpoint ? { endpoint: o.endpoint, forcePathStyle: true } : {}),
      maxAttempts: o.retries + 1,
      ...(o.credentials ? { credentials: o.credentials } : {}),
      requestChecksumCalculation: mode,
      responseChecksumValidation: mode,
    });
    this.slots = new Semaphore(o.uploadSlots);
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
    const parts = rechunk(body, this.o.partSize)[Symbol.asyncIterator]();
    await this.slots.acquire();
    let held = 1;
    try {
      const first = await parts.next();
      const firstBuf = first.done ? Buffer.alloc(0) : first.value;
      const second = firstBuf.length < this.o.partSize ? { done: true as const, value: undefined } : (await this.slots.acquire(), held++, await parts.next());
      if (second.done) {
        const r = await this.client.send(new PutObjectCommand({ ...common, Body: firstBuf, ContentLength: firstBuf.length }));
        opts.onAcked?.(firstBuf.length);
        return { size: firstBuf.length, etag: r.ETag };
      }
      const created = await this.client.send(new CreateMultipartUploadCommand(common));
      const uploadId = created.UploadId!;
      held = 0; // uploadParts owns the two slots from here
      try {
        return await this.uploadParts(key, uploadId, [firstBuf, second.value], parts, opts);
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
    firstTwo: Buffer[],
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
    for (const b of firstTwo) send(b);
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
    const r = await this.client.send(
      new CompleteMultipartUploadCommand({ Bucket: this.o.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }),
    );
    return { size, etag: r.ETag };
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    if (range && range.end <= range.start) return Buffer.alloc(0);
    // The SDK retries requests, not a body that breaks mid-read: retry those here.
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.client.send(
          new GetObjectCommand({ Bucket: this.o.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined }),
        );
        const bytes = await r.Body!.transformToByteArray();
        const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (range && buf.length !== range.end - range.start) throw Object.assign(new Error(`short read: ${buf.length} of ${range.end - range.start} bytes`), { retryable: true });
        return buf;
      } catch (e: any) {
        const transient = e?.retryable || (!e?.$metadata?.httpStatusCode && !(e?.name && /NoSuch|InvalidObjectState|AccessDenied/.test(e.name)));
        if (!transient || attempt >= this.o.retries) throw classifyS3Error(e, this.what(key));
        await backoff(attempt);
      }
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
        lastModified: r.LastModified,
        restore: parseRestoreHeader(r.Restore),
      };
    } catch (e: any) {
      if (e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404) return null;
      throw classifyS3Error(e, this.what(key));
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (e) {
        throw classifyS3Error(e, this.what(prefix));
      }
      for (const o of r.Contents ?? []) {
        yield {
          key: o.Key!,
          size: o.Size ?? 0,
          etag: o.ETag,
          storageClass: o.StorageClass ?? 'STANDARD',
          lastModified: o.LastModified,
          restore: { state: 'none' },
        };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async *listChildren(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
      } catch (e) {
        throw classifyS3Error(e, this.what(prefix));
      }
      for (const p of r.CommonPrefixes ?? []) if (p.Prefix) yield p.Prefix;
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const r = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.o.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        const errs = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (errs.length) throw Object.assign(new Error(errs[0]!.Message ?? 'delete failed'), { name: errs[0]!.Code });
      } catch (e: any) {
        if (e?.name !== 'NotImplemented' && e?.$metadata?.httpStatusCode !== 501) throw classifyS3Error(e, this.what(batch[0]!));
        for (const Key of batch) await this.client.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key }));
      }
    }
  }
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(20_000, 100 * 2 ** attempt);
  return new Promise((r) => setTimeout(r, ms));
}
