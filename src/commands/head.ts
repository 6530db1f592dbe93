import { aggregateStatus } from '../archive/chunk-status.js';
import { surveyChunks } from '../archive/chunk-survey.js';
import { QuietExit } from '../errors.js';
import { formatBytes } from '../units.js';
import { openStreamRef } from './stream-resolve.js';
import type { TargetOptions } from './target.js';
import { streamNameFrom } from './thaw-flow.js';

export interface HeadOptions extends TargetOptions {
  name?: string;
  key?: string;
  json?: boolean;
}

/**
 * The archival status of a stream: one line (or JSON with per-chunk detail) on stdout, and
 * an exit code scripts can loop on: 0 readable, 2 not (yet) readable, 1 cannot tell/damaged.
 */
export async function headCommand(arg: string | undefined, o: HeadOptions): Promise<void> {
  const name = streamNameFrom(arg, o.name, 'head');
  const { layout, manifest, target: where } = await openStreamRef(o, name);
  const store = where.store;
  const chunks = await surveyChunks(store, layout, manifest);
  const s = aggregateStatus(chunks);
  if (o.json) {
    process.stdout.write(
      JSON.stringify({
        name: manifest.name,
        status: s.word,
        message: s.line,
        readable: s.exitCode === 0,
        ready: s.ready,
        total: s.total,
        expiry: s.expiry?.toISOString(),
        size: manifest.stream.size,
        storageClass: manifest.storageClass,
        createdAt: manifest.createdAt,
        chunks: chunks.map((c) => ({
          index: c.index,
          key: c.key,
          storageClass: c.storageClass,
          size: c.size,
          state: c.state.kind,
          ...(c.state.kind === 'restored' && c.state.expiry ? { expiry: c.state.expiry.toISOString() } : {}),
          ...(c.state.kind === 'archived' && c.state.expired ? { expired: c.state.expired.toISOString() } : {}),
          ...(c.state.kind === 'unknown' ? { reason: c.state.reason } : {}),
        })),
      }) + '\n',
    );
  } else {
    process.stdout.write(`${s.line}\n${manifest.name}: ${formatBytes(manifest.stream.size)} in ${s.total} chunk${s.total === 1 ? '' : 's'}, created ${manifest.createdAt}\n`);
  }
  if (s.exitCode !== 0) throw new QuietExit(s.exitCode);
}
