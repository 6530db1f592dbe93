import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseWorkers } from '../cli/common-options.js';
import { conflictError, usageError } from '../errors.js';
import { getStream, prefetchRanges, type RangedObject } from '../pipeline/get-stream.js';
import { createProgress } from '../ui/progress.js';
import { printSummary, type SummaryFormat } from '../ui/summary.js';
import { intoOutput, refuseTerminal } from './output-sink.js';
import { StreamLayout, validateStreamName } from '../format/layout.js';
import type { Manifest } from '../format/manifest.js';
import { isPrivateId } from '../format/private-id.js';
import { storeWhere, type Store } from '../store/store.js';
import { ExitCode, S3ductError, authError, notFoundError, notReadyError } from '../errors.js';
import { codecForPut, protectionKeyId, type Protection } from '../crypto/stream-codec.js';
import { LocalJournal } from '../resume/local-journal.js';
import { loadInterrupted } from '../resume/resume-journal.js';
import { journalAgeHeader } from '../resume/journal-format.js';
import { streamStateStem } from '../resume/state-dir.js';
import { warn } from '../ui/log.js';
import { formatBytes } from '../units.js';
import { surveyChunks } from '../archive/chunk-survey.js';
import { DEFAULT_PRICES } from '../archive/prices.js';
import type { ThawWatch } from '../archive/thaw-watch.js';
import { thawOptionsFrom, type RawThawOptions } from '../cli/thaw-options.js';
import { refuseUnrestorable, requestThaw, restoreCommandHint, watchThaw, type ThawTarget } from './thaw-flow.js';
import { resolveStream } from './stream-resolve.js';
import { openTarget, type Target, type TargetOptions } from './target.js';

export interface GetOptions extends TargetOptions {
  name?: string;
  decrypt: boolean;
  output?: string;
  downloadWorkers: string;
  summary: SummaryFormat;
  progress: boolean;
  partial?: boolean;
  /** get --restore: request the thaw and stream chunks out as they become readable. */
  restore?: boolean;
  thaw?: RawThawOptions;
  /** Options set from the environment, left out of the suggested restore command. */
  fromEnv?: ReadonlySet<string>;
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
  const opened = await resolveStream(target, ref).catch(async (e) => {
    if (o.partial && e instanceof S3ductError && e.exitCode === ExitCode.notFound) return openUnfinished(store, target.prefix, ref!, target.protection);
    throw e;
  });
  const { layout, manifest, codec } = opened;
  const partial = 'lastMarks' in opened ? { lastMarks: opened.lastMarks } : undefined;
  const outFile = dir === undefined ? o.output : o.output !== undefined ? path.resolve(dir, o.output) : await originalPath(dir, manifest);
  refuseTerminal(outFile); // before a restore is requested (and paid for)
  // Before a byte is written: a cold chunk found mid-stream would leave a torn output.
  const watch = await ensureReadable({ store, layout, manifest }, o);
  const progress = await createProgress({ verb: 'get', enabled: o.progress, totalBytes: manifest.stream.size });
  try {
    await intoOutput(outFile, manifest.stream.size, (sink) =>
      getStream({
        store: watch ? gatedStore(store, layout, manifest, watch) : store,
        layout,
        manifest,
        codec,
        sink,
        concurrency: workers,
        rangeSize: RANGE_SIZE,
        onWritten: (n) => progress.advance(n),
        partial,
      }),
    );
  } finally {
    progress.stop();
  }
  if (partial) {
    const complete = partial.lastMarks[partial.lastMarks.length - 1] === true;
    warn(`PARTIAL: restored the ${manifest.chunks.length} verified chunks (${formatBytes(manifest.chunks.reduce((a, c) => a + c.size, 0))}) of an unfinished put; ${complete ? "they end with the stream's last chunk" : 'the stream went on past them'}`);
    return;
  }
  if (outFile !== undefined && outFile !== '-') await restoreMtime(outFile, manifest);
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
  for await (const o of store.list(layout.chunksDir)) {
    // Without the key the manifest cannot say how many chunks there are: the listing must at
    // least run from chunk 0 without a gap, or the copy would silently lack a chunk.
    if (o.key !== layout.chunk(objects.length)) throw notFoundError(`stream "${layout.stream}": chunk ${objects.length} is missing at ${storeWhere(store, layout.prefix)}; the stream is damaged`);
    objects.push({ key: o.key, size: o.size, tag: null });
  }
  if (!objects.length) throw notFoundError(`no chunks for stream "${layout.stream}" at ${storeWhere(store, layout.prefix)}`);
  if (!(await store.head(layout.manifest))) throw notFoundError(`stream "${layout.stream}" has no manifest at ${storeWhere(store, layout.prefix)}: its put never finished`);
  await intoOutput(file, objects.reduce((n, o) => n + o.size, 0), async (sink) => {
    for await (const piece of prefetchRanges(store, objects, RANGE_SIZE, workers)) {
      await sink.write(piece.bytes);
      piece.release();
    }
  });
}

/**
 * The verified prefix of a put that never finished, from its journal: what a user can still
 * get back after a disaster struck mid-backup (get --partial).
 */
async function openUnfinished(store: Store, prefix: string, name: string, protection: Protection) {
  const layout = new StreamLayout(prefix, validateStreamName(name));
  const local = new LocalJournal(`${streamStateStem(store.location, prefix, name)}.journal`);
  const journal = await loadInterrupted(store, layout, protection, await local.read());
  if (!journal || !journal.chunks.length) throw notFoundError(`no stream "${name}" at ${storeWhere(store, prefix)}, finished or not`);
  const h = journal.header;
  // An age put's recipients are not get's to know: whether the identities unwrap the header decides.
  const sameKey = protection.mode === 'age' || h.keyId === protectionKeyId(protection);
  if (h.encryption !== protection.mode || !sameKey) throw authError(`stream "${name}": the unfinished put used ${h.encryption === 'none' ? 'no key' : 'another key'}`);
  if (protection.mode === 'age' && !h.ageHeader) throw usageError(`stream "${name}": --partial cannot open this unfinished age put (its journal does not record the age header)`);
  const codec = await codecForPut(protection, Buffer.from(h.streamId, 'hex'), journalAgeHeader(h));
  const chunks = journal.chunks.map(({ last: _l, ...c }) => c);
  const manifest = {
    format: 's3duct',
    version: 1,
    streamId: h.streamId,
    name,
    createdAt: h.createdAt,
    completedAt: '',
    chunkSize: h.chunkSize,
    encryption: codec.encryption,
    storageClass: h.storageClass,
    tags: {},
    source: { kind: 'stdin' },
    chunks,
    stream: { size: 0, chunks: chunks.length, sha256: '', sha3_256: '', chain: '' },
  } as Manifest;
  return { layout, manifest, codec, lastMarks: journal.chunks.map((c) => c.last) };
}

/**
 * Checks every chunk can be read. Cold chunks: without --restore, fail (exit 2) naming the
 * restore command; with it, request the thaw and return a watch that says when each chunk is
 * ready, so the output starts with chunk 0 and follows the thaw in order.
 */
async function ensureReadable(t: ThawTarget, o: GetOptions): Promise<ThawWatch | undefined> {
  const thaw = o.restore ? thawOptionsFrom(o.thaw!) : undefined; // bad flags fail before any request
  // With every chunk readable, a missing or damaged one is the verified read's to report, as
  // for any stream; with some archived, a missing one is said before a restore is suggested.
  const chunks = await surveyChunks(t.store, t.layout, t.manifest);
  const cold = chunks.filter((c) => c.state.kind === 'archived' || c.state.kind === 'restoring');
  if (!cold.length) return undefined;
  refuseUnrestorable(t, chunks);
  if (!thaw) {
    const restoring = cold.filter((c) => c.state.kind === 'restoring').length;
    throw notReadyError(
      `stream "${t.manifest.name}": ${cold.length} of ${chunks.length} chunks are archived and not readable` +
        (restoring ? ` (${restoring} restoring)` : '') +
        `; restore first: ${restoreCommandHint(t.manifest.name, o, o.fromEnv ?? new Set())} (or run get with --restore)`,
    );
  }
  await requestThaw(t, chunks, thaw, DEFAULT_PRICES, o.progress);
  return watchThaw(t, chunks, thaw, o.progress);
}

/** The store as getStream sees it: each chunk read waits until the watch says it is readable. */
function gatedStore(store: Store, layout: StreamLayout, manifest: Manifest, watch: ThawWatch): Store {
  const index = new Map(manifest.chunks.map((c) => [layout.chunk(c.index), c.index]));
  const gated: Store = Object.create(store);
  gated.get = async (key, range) => {
    const i = index.get(key);
    if (i !== undefined) await watch.ready(i);
    return store.get(key, range);
  };
  return gated;
}

