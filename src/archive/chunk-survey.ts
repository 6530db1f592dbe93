import type { StreamLayout } from '../format/layout.js';
import type { Manifest } from '../format/manifest.js';
import { mapLimit } from '../pipeline/map-limit.js';
import type { ObjectInfo, Store } from '../store/store.js';
import { chunkStateOf, type ChunkStatus } from './chunk-status.js';

export interface SurveyOptions {
  /** Only these chunk indexes (a poll re-checks what is not ready yet). */
  readonly only?: ReadonlySet<number>;
  readonly headConcurrency?: number;
  readonly now?: () => Date;
}

/**
 * The state of a stream's chunks, from one listing of its chunks/ folder (asking for restore
 * status) plus a HEAD for each chunk the listing could not speak for: archived objects
 * without RestoreStatus (the endpoint may not report it) and chunks the listing lacks.
 */
export async function surveyChunks(store: Store, layout: StreamLayout, manifest: Manifest, o: SurveyOptions = {}): Promise<ChunkStatus[]> {
  const now = o.now ?? (() => new Date());
  const listed = new Map<string, ObjectInfo>();
  for await (const info of store.list(layout.chunksDir, { restoreStatus: true })) listed.set(info.key, info);
  const wanted = manifest.chunks.filter((c) => !o.only || o.only.has(c.index));
  return mapLimit(wanted, o.headConcurrency ?? 8, async (c): Promise<ChunkStatus> => {
    const key = layout.chunk(c.index);
    let info: ObjectInfo | null = listed.get(key) ?? null;
    let state = chunkStateOf(info, now());
    if (state.kind === 'missing' || state.kind === 'unknown') {
      try {
        info = await store.head(key);
        state = chunkStateOf(info, now());
      } catch (e: any) {
        state = { kind: 'unknown', reason: e?.message ?? String(e) };
      }
    }
    return { index: c.index, key, storageClass: info?.storageClass ?? manifest.storageClass, size: c.storedSize, state };
  });
}
