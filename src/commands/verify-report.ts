import { ExitCode, type ExitCodeValue } from '../errors.js';
import type { ChunkRecord } from '../format/manifest.js';
import { bareEtag, type ObjectInfo, type RestoreState } from '../store/store.js';

/**
 * What verify found for one chunk. `ok` at the quick level means "present with the recorded
 * size (and ETag)"; at the full level it means decrypted, hashed and chained correctly.
 * `not-checked`: the full pass stopped at an earlier chunk, so this one was not read.
 */
export type ChunkStatus = 'ok' | 'missing' | 'size-mismatch' | 'etag-mismatch' | 'corrupt' | 'archived' | 'not-checked';

export interface ChunkResult {
  readonly index: number;
  readonly key: string;
  readonly status: ChunkStatus;
  readonly detail?: string;
  readonly storageClass?: string;
  readonly restore?: RestoreState['state'];
}

export type VerifyLevel = 'quick' | 'full';

export interface VerifyReport {
  readonly stream: string;
  readonly level: VerifyLevel;
  readonly ok: boolean;
  readonly chunks: readonly ChunkResult[];
  /** Problems with the stream as a whole (totals, final chain), not with one chunk. */
  readonly streamProblem?: string;
  /** Objects under the chunk prefix that the manifest does not list (left by an older put). */
  readonly extraObjects: readonly string[];
}

/** ETags come quoted from some APIs and bare from others. */

/** Quick check of one chunk: the stored object's metadata against its manifest record. */
export function checkChunkObject(c: ChunkRecord, key: string, info: ObjectInfo | null): ChunkResult {
  if (!info) return { index: c.index, key, status: 'missing', detail: 'object not found' };
  const where = { storageClass: info.storageClass, restore: info.restore.state };
  if (info.size !== c.storedSize)
    return { index: c.index, key, status: 'size-mismatch', detail: `object has ${info.size} bytes, manifest says ${c.storedSize}`, ...where };
  const [want, have] = [bareEtag(c.etag), bareEtag(info.etag)];
  // A store that does not report ETags (the local store) or a put that did not record one
  // leaves nothing to compare: the size check is all the quick level can do there.
  if (want && have && want !== have)
    return { index: c.index, key, status: 'etag-mismatch', detail: `object ETag ${have}, manifest recorded ${want} (object replaced)`, ...where };
  return { index: c.index, key, status: 'ok', ...where };
}

const isIntegrity = (s: ChunkStatus) => s === 'size-mismatch' || s === 'etag-mismatch' || s === 'corrupt';

/** Integrity problems outrank missing chunks, which outrank archived (not yet readable) ones. */
export function exitCodeFor(r: VerifyReport): ExitCodeValue {
  if (r.streamProblem || r.chunks.some((c) => isIntegrity(c.status))) return ExitCode.integrity;
  if (r.chunks.some((c) => c.status === 'missing')) return ExitCode.notFound;
  if (r.chunks.some((c) => c.status === 'archived')) return ExitCode.notReady;
  return ExitCode.ok;
}

export function problemCount(r: VerifyReport): number {
  return r.chunks.filter((c) => c.status !== 'ok' && c.status !== 'not-checked').length + (r.streamProblem ? 1 : 0);
}

/** One line per problem, then a verdict line; `quiet` keeps only the problems. */
export function formatReport(r: VerifyReport, quiet: boolean): string {
  const lines: string[] = [];
  for (const c of r.chunks) if (c.status !== 'ok' && c.status !== 'not-checked') lines.push(`chunk ${c.index} (${c.key}): ${c.status}${c.detail ? `: ${c.detail}` : ''}`);
  if (r.streamProblem) lines.push(`stream: ${r.streamProblem}`);
  for (const k of r.extraObjects) lines.push(`note: ${k} is not part of the stream (left by an earlier put; delete removes it)`);
  const unchecked = r.chunks.filter((c) => c.status === 'not-checked').length;
  if (!quiet || !r.ok) {
    const what = r.level === 'quick' ? 'present with the recorded sizes' : 'read, decrypted and checked (hashes, chain, totals)';
    lines.push(
      r.ok
        ? `stream "${r.stream}": OK, ${r.chunks.length} chunk${r.chunks.length === 1 ? '' : 's'} ${what}`
        : `stream "${r.stream}": ${problemCount(r)} problem${problemCount(r) === 1 ? '' : 's'}${unchecked ? `, ${unchecked} chunk${unchecked === 1 ? '' : 's'} not checked` : ''}`,
    );
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
