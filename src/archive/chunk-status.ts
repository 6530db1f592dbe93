import { ExitCode } from '../errors.js';
import { isArchiveClass } from '../format/storage-class.js';
import type { ObjectInfo } from '../store/store.js';

/** What the store says about one chunk object, in the terms a restore cares about. */
export type ChunkState =
  /** Not in an archive class (STANDARD, GLACIER_IR, …): readable now, never restored. */
  | { readonly kind: 'readable' }
  /** Archived, no restore requested; `expired` is set when a restored copy has lapsed. */
  | { readonly kind: 'archived'; readonly expired?: Date }
  | { readonly kind: 'restoring' }
  | { readonly kind: 'restored'; readonly expiry?: Date }
  /** In the manifest but not in the store: it can never become readable. */
  | { readonly kind: 'missing' }
  | { readonly kind: 'unknown'; readonly reason: string };

export type ChunkStateKind = ChunkState['kind'];

export interface ChunkStatus {
  readonly index: number;
  readonly key: string;
  readonly storageClass: string;
  /** Stored bytes (what a restore retrieves). */
  readonly size: number;
  readonly state: ChunkState;
}

/** Maps a HEAD (or a listing that reported restore state) to a chunk state. */
export function chunkStateOf(info: ObjectInfo | null, now: Date): ChunkState {
  if (!info) return { kind: 'missing' };
  if (!isArchiveClass(info.storageClass)) return { kind: 'readable' };
  const r = info.restore;
  switch (r.state) {
    case 'none':
      return { kind: 'archived' };
    case 'ongoing':
      return { kind: 'restoring' };
    case 'restored':
      // A copy past its expiry is gone (S3 drops the header some time after): archived again.
      return r.expiry && r.expiry.getTime() <= now.getTime() ? { kind: 'archived', expired: r.expiry } : { kind: 'restored', expiry: r.expiry };
    case 'unreported':
      return { kind: 'unknown', reason: 'the store did not report its restore state' };
  }
}

export function isReadable(s: ChunkState): boolean {
  return s.kind === 'readable' || s.kind === 'restored';
}

export type StreamStatusWord = 'readable' | 'restored' | 'restoring' | 'archived' | 'missing' | 'unknown';

export interface StreamStatus {
  readonly word: StreamStatusWord;
  /** One line for humans. */
  readonly line: string;
  readonly ready: number;
  readonly total: number;
  readonly counts: Readonly<Record<ChunkStateKind, number>>;
  /** Earliest expiry of a restored copy: the stream stops being readable then. */
  readonly expiry?: Date;
  /** head's exit code: 0 readable now, 2 not (yet) readable, 5 a chunk missing (as get and verify say), 1 cannot tell. */
  readonly exitCode: 0 | 1 | 2 | 5;
}

/**
 * One status for a whole stream. The worst chunk decides: a missing chunk makes the stream
 * damaged whatever the rest says; an archived chunk with no restore needs the user to act,
 * which matters more than others being on their way.
 */
export function aggregateStatus(chunks: readonly ChunkStatus[]): StreamStatus {
  const counts: Record<ChunkStateKind, number> = { readable: 0, archived: 0, restoring: 0, restored: 0, missing: 0, unknown: 0 };
  let expiry: Date | undefined;
  let expired = 0;
  for (const c of chunks) {
    counts[c.state.kind]++;
    if (c.state.kind === 'restored' && c.state.expiry && (!expiry || c.state.expiry < expiry)) expiry = c.state.expiry;
    if (c.state.kind === 'archived' && c.state.expired) expired++;
  }
  const total = chunks.length;
  const ready = counts.readable + counts.restored;
  const classes = [...new Set(chunks.map((c) => c.storageClass))].sort().join(', ');
  const plural = total === 1 ? '' : 's';
  const of = (n: number) => `${n} of ${total} chunk${plural}`;
  const base = { ready, total, counts, expiry };
  if (counts.missing) return { ...base, word: 'missing', exitCode: ExitCode.notFound, line: `missing: ${of(counts.missing)} are not in the store; the stream is damaged` };
  if (counts.unknown) return { ...base, word: 'unknown', exitCode: 1, line: `unknown: the state of ${of(counts.unknown)} could not be determined` };
  if (counts.archived) {
    const more = counts.restoring ? `, ${counts.restoring} restoring` : '';
    const lapsed = expired ? ` (${expired} restored cop${expired === 1 ? 'y has' : 'ies have'} expired)` : '';
    return { ...base, word: 'archived', exitCode: 2, line: `archived: ${of(counts.archived)} (${classes}) need a restore${lapsed}${more}; ${ready} readable` };
  }
  if (counts.restoring) return { ...base, word: 'restoring', exitCode: 2, line: `restoring: restore in progress, ${of(ready)} readable` };
  if (counts.restored)
    return { ...base, word: 'restored', exitCode: 0, line: `restored: all ${total} chunk${plural} readable${expiry ? ` until ${expiry.toISOString()}` : ''} (${classes})` };
  return { ...base, word: 'readable', exitCode: 0, line: `readable: all ${total} chunk${plural} readable now (${classes})` };
}
