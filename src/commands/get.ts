import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseWorkers } from '../cli/common-options.js';
import { conflictError, usageError } from '../errors.js';
import { getStream, rangeReads, type RangedObject } from '../pipeline/get-stream.js';
import { createProgress } from '../ui/progress.js';
import { printSummary, type SummaryFormat } from '../ui/summary.js';
import { openOutput } from './output-sink.js';
import { StreamLayout, validateStreamName } from '../format/layout.js';
import type { Manifest } from '../format/manifest.js';
import { isPrivateId } from '../format/private-id.js';
import { orderedPrefetch } from '../pipeline/ordered-prefetch.js';
import type { Store } from '../store/store.js';
import { notFoundError } from '../errors.js';
import { resolveStream } from './stream-resolve.js';
import { openTarget, type Target, type TargetOptions } from './target.js';

export interface GetOptions extends TargetOptions {
  name?: string;
  decrypt: boolean;
  output?: string;
  downloadWorkers: string;
  summary: SummaryFormat;
  progress: boolean;
}

/** Ranged GET size: small enough to keep memory at workers × this, large enough per request. */
const RANGE_SIZE = 8 * 1024 * 1024;

/**
 * `get [NAME|ID] [DIR]`: the stream by name (newest version) or id; into DIR under the name
 * the file or device had when it was put, or --output (relative to DIR if both are given),
 * or stdout.
 */
export async function getCommand(ref: string | undefined, dir: string | undefined, o: GetOptions): Promise<void> {
  const started = Date.now();
  if (ref !== undefined && o.name !== undefined && ref !== o.name) throw usageError('give the stream either as an argument or with --name, not both');
  ref ??= o.name;
  if (!ref) throw usageError('get needs the stream: s3duct get NAME|ID [DIR], or --name NAME');
  if (dir !== undefined && !(await fs.stat(dir).catch(() => null))?.isDirectory()) throw usageError(`${dir} is not a directory`);
  const workers = parseWorkers(o.downloadWorkers, '--download-workers', 4);
  const target = await openTarget({ ...o, encrypt: o.decrypt }, 'get');
  const { store } = target;
  if (o.decrypt === false) {
    if (dir !== undefined && o.output === undefined) throw usageError('--no-decrypt with a DIR needs --output NAME (the original name is in the encrypted manifest)');
    return rawDownload(store, await rawLayout(target, ref), dir === undefined ? o.output : path.resolve(dir, o.output!), workers);
  }
  const { layout, manifest, codec } = await resolveStream(target, ref);
  const outFile = dir === undefined ? o.output : o.output !== undefined ? path.resolve(dir, o.output) : await originalPath(dir, manifest);
  const output = await openOutput(outFile);
  const progress = await createProgress({ verb: 'get', enabled: o.progress, totalBytes: manifest.stream.size });
  try {
    await getStream({
      store,
      layout,
      manifest,
      codec,
      sink: output.sink,
      concurrency: workers,
      rangeSize: RANGE_SIZE,
      onWritten: (n) => progress.advance(n),
    });
    await output.commit();
  } catch (e) {
    await output.discard();
    throw e;
  } finally {
    progress.stop();
  }
  if (outFile !== undefined) await restoreMtime(outFile, manifest);
  printSummary(o.summary, 'get', manifest, (Date.now() - started) / 1000);
}

/**
 * DIR + the name the stream's source had. The name comes from an authenticated manifest, but
 * is still reduced to a base name so that it can never point outside DIR. An existing file is
 * not replaced (give --output to say so); a device of the same name is written to only when
 * the stream was read from a device.
 */
async function originalPath(dir: string, m: Manifest): Promise<string> {
  const base = m.source.fileName !== undefined ? path.basename(m.source.fileName) : '';
  if (!base || base === '.' || base === '..') throw usageError(`stream "${m.name}" has no file name (it was read from stdin): give --output NAME`);
  const file = path.join(dir, base);
  const st = await fs.stat(file).catch(() => null);
  if (st && !(st.isBlockDevice() && m.source.kind === 'device'))
    throw conflictError(`${file} already exists; remove it or give --output to choose the name`);
  return file;
}

/** A restored file gets back the modification time it had when it was put. */
async function restoreMtime(file: string, m: Manifest): Promise<void> {
  if (m.source.kind !== 'file' || !m.source.mtime) return;
  const mtime = new Date(m.source.mtime);
  if (Number.isNaN(mtime.getTime()) || !(await fs.stat(file)).isFile()) return;
  await fs.utimes(file, new Date(), mtime);
}

/** The stream's object key directory, for --no-decrypt: a name under private names needs
 *  the key to be found, an id or a named stream does not. */
async function rawLayout(t: Target, ref: string): Promise<StreamLayout> {
  if (t.privateNames && !isPrivateId(ref) && t.protection.mode !== 'none') return (await resolveStream(t, ref)).layout;
  return new StreamLayout(t.prefix, validateStreamName(ref));
}

/**
 * --no-decrypt: the stored chunk objects, concatenated in order, exactly as stored. Works
 * without a key (no manifest is read), e.g. to move an archive elsewhere or inspect it.
 */
async function rawDownload(store: Store, layout: StreamLayout, file: string | undefined, workers: number): Promise<void> {
  const objects: RangedObject<null>[] = [];
  for await (const o of store.list(layout.chunksDir)) objects.push({ key: o.key, size: o.size, tag: null });
  if (!objects.length) throw notFoundError(`no chunks for stream "${layout.stream}" at ${store.location}`);
  const output = await openOutput(file);
  try {
    for await (const piece of orderedPrefetch(rangeReads(store, objects, RANGE_SIZE), workers)) await output.sink.write(piece.bytes);
    await output.commit();
  } catch (e) {
    await output.discard();
    throw e;
  }
}
