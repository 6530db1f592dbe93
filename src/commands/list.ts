import { openTarget, type TargetOptions } from './target.js';
import { formatBytes } from '../units.js';
import { listStreams, type StreamRow } from './list-streams.js';

export interface ListOptions extends TargetOptions {
  json?: boolean;
}

export async function listCommand(o: ListOptions): Promise<void> {
  // With a profile, streams sit under opaque ids: their names come from the manifests.
  const { store, prefix, protection } = await openTarget(o, 'read');
  const rows = await listStreams(store, prefix, protection);
  process.stdout.write(o.json ? JSON.stringify(rows) + '\n' : formatTable(rows));
}

const HEADERS = ['NAME', 'SIZE', 'CHUNKS', 'CREATED', 'CLASS', 'STATUS', 'ENCRYPTION'] as const;

/**
 * An aligned table; numbers right-aligned. Empty when there are no streams (scripts: use
 * --json). Streams stored under ids (private names) get an ID column: what get, head and
 * delete take to pick one version of a name.
 */
export function formatTable(rows: readonly StreamRow[]): string {
  if (!rows.length) return '';
  const ids = rows.some((r) => r.path !== r.name);
  const headers = ids ? ['ID', ...HEADERS] : [...HEADERS];
  const cells = rows.map((r) => [
    ...(ids ? [r.path] : []),
    r.name,
    r.size === undefined ? '-' : formatBytes(r.size),
    r.chunks === undefined ? '-' : String(r.chunks),
    r.createdAt ? r.createdAt.slice(0, 16).replace('T', ' ') : '-',
    r.storageClass ?? '-',
    r.status,
    r.encryption + (r.note ? ` (${r.note})` : ''),
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = new Set(ids ? [2, 3] : [1, 2]);
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : right.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd() + '\n';
  return line(headers) + cells.map(line).join('');
}
