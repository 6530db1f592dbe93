import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { parseWorkers } from '../cli/common-options.js';
import { codecForPut } from '../crypto/stream-codec.js';
import { conflictError, usageError } from '../errors.js';
import { StreamLayout, validateStreamName } from '../format/layout.js';
import { parseStorageClass } from '../format/storage-class.js';
import { ByteReader } from '../pipeline/byte-reader.js';
import { putStream } from '../pipeline/put-stream.js';
import { privateIdOf, isPrivateId } from '../format/private-id.js';
import { createProgress } from '../ui/progress.js';
import { printSummary, type SummaryFormat } from '../ui/summary.js';
import { formatBytes, parseSize } from '../units.js';
import { openInput } from './input-source.js';
import { warn } from '../ui/log.js';
import { openTarget, type TargetOptions } from './target.js';

export interface PutOptions extends TargetOptions {
  name?: string;
  encrypt: boolean;
  chunkSize: string;
  uploadWorkers: string;
  /** Unset: the profile's default, else STANDARD. */
  storageClass?: string;
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

/** A private stream's name is only ever inside the encrypted manifest, so any printable text
 *  will do; a named stream's name is its object key and must pass validateStreamName. */
function checkPrivateName(name: string): string {
  if (name.length > 1024) throw usageError('stream name is longer than 1024 characters');
  if (/[\u0000-\u001f\u007f]/.test(name)) throw usageError('stream name contains control characters');
  return name;
}

export async function putCommand(file: string | undefined, o: PutOptions): Promise<void> {
  const started = Date.now();
  const fromFile = file !== undefined && file !== '-';
  const name = o.name || (fromFile ? path.basename(file) : undefined);
  if (!name) throw usageError('put needs --name NAME for the stream (or a FILE, whose name is used)');
  if (file === undefined && o.passwordStdin) throw usageError('--password-stdin cannot be used when put reads the data from stdin: give a FILE, or use --password-env VAR');
  const chunkSize = parseSize(o.chunkSize, 'chunk size');
  if (chunkSize < 1 || chunkSize > MAX_CHUNK) throw usageError('--chunk-size must be between 1 byte and 5T');
  const tags = parseTags(o.tag);
  const workers = parseWorkers(o.uploadWorkers, '--upload-workers', 4);
  const target = await openTarget(o, 'put', workers);
  const { store, prefix, protection } = target;
  const storageClass = parseStorageClass(o.storageClass ?? target.storageClass ?? 'STANDARD');
  if (target.privateNames) {
    checkPrivateName(name);
    if (o.overwrite) throw usageError('--overwrite does not apply with private names: every put is a new version of the name');
  } else {
    validateStreamName(name);
    if (isPrivateId(name)) throw usageError(`"${name}" has the form of a private stream id; choose another --name`);
  }
  const input = await openInput(file);

  if (protection.mode === 'none' && o.encrypt !== false)
    warn('WARNING: no --key given: this backup will be stored UNENCRYPTED. Pass --key to encrypt it, or --no-encrypt to say you mean it.');

  const streamId = randomBytes(16);
  const layout = new StreamLayout(prefix, target.privateNames ? privateIdOf(streamId) : name);
  if (!target.privateNames && !o.overwrite && (await store.head(layout.manifest)))
    throw conflictError(`stream "${name}" already exists at ${store.location}; choose another --name, or pass --overwrite to replace it`);

  const codec = codecForPut(protection, streamId);
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
  printSummary(o.summary, 'put', manifest, (Date.now() - started) / 1000, { id: layout.stream });
}
