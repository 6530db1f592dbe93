import { randomBytes } from 'node:crypto';
import { protectionFrom } from '../cli/key-source.js';
import type { RawAgeOptions } from '../cli/common-options.js';
import { parseWorkers, storeSpecFrom, type RawStoreOptions } from '../cli/common-options.js';
import { codecForPut } from '../crypto/stream-codec.js';
import { conflictError, usageError } from '../errors.js';
import { StreamLayout, validateStreamName } from '../format/layout.js';
import { parseStorageClass } from '../format/storage-class.js';
import { ByteReader } from '../pipeline/byte-reader.js';
import { putStream } from '../pipeline/put-stream.js';
import { openStore } from '../store/open-store.js';
import { createProgress } from '../ui/progress.js';
import { printSummary, type SummaryFormat } from '../ui/summary.js';
import { formatBytes, parseSize } from '../units.js';
import { openInput } from './input-source.js';
import { warn } from '../ui/log.js';

export interface PutOptions extends RawStoreOptions, RawAgeOptions {
  name?: string;
  key?: string;
  encrypt: boolean;
  chunkSize: string;
  uploadWorkers: string;
  storageClass: string;
  tag: string[];
  summary: SummaryFormat;
  overwrite?: boolean;
  progress: boolean;
}

export const DEFAULT_CHUNK_SIZE = '128M';
const MAX_CHUNK = 5 * 1024 ** 4; // S3's object limit on most stores

export function parseTags(tags: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) {
    const i = t.indexOf('=');
    if (i <= 0) throw usageError(`invalid --tag "${t}": use key=value`);
    out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}

export async function putCommand(file: string | undefined, o: PutOptions): Promise<void> {
  const started = Date.now();
  const name = o.name;
  if (!name) throw usageError('put needs --name NAME for the stream');
  validateStreamName(name);
  const chunkSize = parseSize(o.chunkSize, 'chunk size');
  if (chunkSize < 1 || chunkSize > MAX_CHUNK) throw usageError('--chunk-size must be between 1 byte and 5T');
  const storageClass = parseStorageClass(o.storageClass);
  const tags = parseTags(o.tag);
  const protection = await protectionFrom(o, 'put');
  const workers = parseWorkers(o.uploadWorkers, '--upload-workers', 4);
  const { store, prefix } = await openStore(storeSpecFrom(o, workers));
  const input = await openInput(file);

  if (protection.mode === 'none' && o.encrypt !== false)
    warn('WARNING: no --key or --age-… option given: this backup will be stored UNENCRYPTED. Pass --key or --age-recipient to encrypt it, or --no-encrypt to say you mean it.');

  const layout = new StreamLayout(prefix, name);
  if (!o.overwrite && (await store.head(layout.manifest)))
    throw conflictError(`stream "${name}" already exists at ${store.location}; choose another --name, or pass --overwrite to replace it`);

  const streamId = randomBytes(16);
  const codec = await codecForPut(protection, streamId);
  const progress = await createProgress({ verb: 'put', enabled: o.progress, totalBytes: input.expectedSize });
  const reader = new ByteReader(input.data);
  let manifest;
  try {
    manifest = await putStream({
      store,
      layout,
      name,
      streamId,
      codec,
      input: reader,
      chunkSize,
      storageClass,
      tags,
      concurrency: workers,
      source: input.info,
      events: { onAcked: (n) => progress.advance(n), onChunkStored: () => progress.chunkDone() },
    });
  } finally {
    progress.stop();
  }
  if (input.expectedSize !== undefined && manifest.stream.size !== input.expectedSize)
    warn(`WARNING: the input changed while it was read: expected ${formatBytes(input.expectedSize)}, read ${formatBytes(manifest.stream.size)}; the backup holds what was read`);
  printSummary(o.summary, 'put', manifest, (Date.now() - started) / 1000);
}
