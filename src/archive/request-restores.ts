import { ExitCode, S3ductError } from '../errors.js';
import { mapLimit } from '../pipeline/map-limit.js';
import type { RestoreTier, Store } from '../store/store.js';
import type { ChunkStatus } from './chunk-status.js';

/** Restore requests in flight at once (S3 accepts up to 1,000 per second per account). */
const REQUEST_CONCURRENCY = 8;

/** Requests a restore of every given chunk; all are tried, then any failure is reported. */
export async function requestRestores(store: Store, chunks: readonly ChunkStatus[], days: number, tier: RestoreTier): Promise<void> {
  const errors = await mapLimit(chunks, REQUEST_CONCURRENCY, (c) =>
    store.requestRestore(c.key, days, tier).then(
      () => undefined,
      (e: any) => ({ index: c.index, message: e?.message ?? String(e), exitCode: e?.exitCode }),
    ),
  );
  const failed = errors.filter((e) => e !== undefined);
  if (failed.length) {
    const first = failed[0]!;
    throw new S3ductError(`restore request failed for ${failed.length} of ${chunks.length} chunks; chunk ${first.index}: ${first.message}`, first.exitCode ?? ExitCode.failure);
  }
}
