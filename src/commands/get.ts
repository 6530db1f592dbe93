import { protectionFrom } from '../cli/key-source.js';
import type { RawAgeOptions } from '../cli/common-options.js';
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
import { notFoundError } from '../errors.js';

export interface GetOptions extends RawStoreOptions, RawAgeOptions {
  name?: string;
  key?: string;
  decrypt: boolean;
  output?: string;
  downloadWorkers: string;
  summary: SummaryFormat;
  progress: boolean;
}

/** Ranged GET size: small enough to keep memory at workers × this, large enough per request. */
const RANGE_SIZE = 8 * 1024 * 1024;

export async function getCommand(o: GetOptions): Promise<void> {
  const started = Date.now();
  if (!o.name) throw usageError('get needs --name NAME of the stream');
  const protection = await protectionFrom({ ...o, encrypt: o.decrypt }, 'get');
  const workers = parseWorkers(o.downloadWorkers, '--download-workers', 4);
  const { store, prefix } = await openStore(storeSpecFrom(o));
  if (o.decrypt === false) return rawDownload(store, new StreamLayout(prefix, validateStreamName(o.name)), o.output, workers);
  const { layout, manifest, codec } = await openStream(store, prefix, o.name, protection);
  const output = await openOutput(o.output);
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
  printSummary(o.summary, 'get', manifest, (Date.now() - started) / 1000);
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
