import { protectionFrom } from '../cli/key-source.js';
import { parseWorkers, storeSpecFrom, type RawStoreOptions } from '../cli/common-options.js';
import { usageError } from '../errors.js';
import { getStream, rangeReads, type RangedObject } from '../pipeline/get-stream.js';
import { openStore } from '../store/open-store.js';
import { createProgress } from '../ui/progress.js';
import { printSummary, type SummaryFormat } from '../ui/summary.js';
import { openOutput } from './output-sink.js';
import { openStream } from './stream-access.js';
import { StreamLayout, validateStreamName } from '../format/layout.js';
import { orderedPrefetch } from '../pipeline/ordered-prefetch.js';
import type { Store } from '../store/store.js';
import { notFoundError, notReadyError } from '../errors.js';
import { surveyChunks } from '../archive/chunk-survey.js';
import { DEFAULT_PRICES } from '../archive/prices.js';
import type { ThawWatch } from '../archive/thaw-watch.js';
import { thawOptionsFrom, type RawThawOptions } from '../cli/thaw-options.js';
import type { Manifest } from '../format/manifest.js';
import { requestThaw, restoreCommandHint, watchThaw, type ThawTarget } from './thaw-flow.js';

export interface GetOptions extends RawStoreOptions {
  name?: string;
  key?: string;
  decrypt: boolean;
  output?: string;
  downloadWorkers: string;
  summary: SummaryFormat;
  progress: boolean;
  /** get --restore: request the thaw and stream chunks out as they become readable. */
  restore?: boolean;
  thaw?: RawThawOptions;
  /** Options set from the environment, left out of the suggested restore command. */
  fromEnv?: ReadonlySet<string>;
}

/** Ranged GET size: small enough to keep memory at workers × this, large enough per request. */
const RANGE_SIZE = 8 * 1024 * 1024;

export async function getCommand(o: GetOptions): Promise<void> {
  const started = Date.now();
  if (!o.name) throw usageError('get needs --name NAME of the stream');
  const protection = protectionFrom({ key: o.key, encrypt: o.decrypt }, 'get');
  const workers = parseWorkers(o.downloadWorkers, '--download-workers', 4);
  const { store, prefix } = await openStore(storeSpecFrom(o));
  if (o.decrypt === false) return rawDownload(store, new StreamLayout(prefix, validateStreamName(o.name)), o.output, workers);
  const { layout, manifest, codec } = await openStream(store, prefix, o.name, protection);
  // Before a byte is written: a cold chunk found mid-stream would leave a torn output.
  const watch = await ensureReadable({ store, layout, manifest }, o);
  const output = await openOutput(o.output);
  const progress = await createProgress({ verb: 'get', enabled: o.progress, totalBytes: manifest.stream.size });
  try {
    await getStream({
      store: watch ? gatedStore(store, layout, manifest, watch) : store,
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
    watch?.stop();
    progress.stop();
  }
  printSummary(o.summary, 'get', manifest, (Date.now() - started) / 1000);
}

/**
 * Checks every chunk can be read. Cold chunks: without --restore, fail (exit 2) naming the
 * restore command; with it, request the thaw and return a watch that says when each chunk is
 * ready, so the output starts with chunk 0 and follows the thaw in order.
 */
async function ensureReadable(t: ThawTarget, o: GetOptions): Promise<ThawWatch | undefined> {
  const thaw = o.restore ? thawOptionsFrom(o.thaw!) : undefined; // bad flags fail before any request
  // Only the archive states matter here: a missing or damaged chunk is the verified read's to
  // report, with its own exit code, as for any stream.
  const chunks = await surveyChunks(t.store, t.layout, t.manifest);
  const cold = chunks.filter((c) => c.state.kind === 'archived' || c.state.kind === 'restoring');
  if (!cold.length) return undefined;
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
