import { parseWorkers } from '../cli/common-options.js';
import { ChunkError, ExitCode, S3ductError } from '../errors.js';
import type { StreamLayout } from '../format/layout.js';
import type { Manifest } from '../format/manifest.js';
import { getStream } from '../pipeline/get-stream.js';
import { Semaphore } from '../pipeline/semaphore.js';
import type { ObjectInfo, Store } from '../store/store.js';
import { createProgress } from '../ui/progress.js';
import { checkChunkObject, exitCodeFor, formatReport, problemCount, type ChunkResult, type VerifyReport } from './verify-report.js';
import type { OpenStream } from './stream-access.js';
import { openStreamRef } from './stream-resolve.js';
import type { TargetOptions } from './target.js';
import { streamNameFrom } from './thaw-flow.js';

export interface VerifyOptions extends TargetOptions {
  name?: string;
  quick?: boolean;
  json?: boolean;
  downloadWorkers: string;
  progress: boolean;
  quiet: boolean;
}

const RANGE_SIZE = 8 * 1024 * 1024;
/** Writes nowhere: verify must never put plaintext on disk or on stdout. */
const DISCARD = { write: async () => {} };

/**
 * verify: the manifest is read and authenticated first (wrong key, missing or forged
 * manifest fail right there). Then every chunk object's metadata is checked against it;
 * without --quick every chunk is also read back through the same pipeline `get` uses.
 * The report goes to stdout (text or --json); any problem ends in a non-zero exit.
 */
export async function verifyCommand(arg: string | undefined, o: VerifyOptions): Promise<void> {
  const name = streamNameFrom(arg, o.name, 'verify');
  const workers = parseWorkers(o.downloadWorkers, '--download-workers', 4);
  // The stream by name or private id, from a profile or the store/key flags, as get finds it.
  const opened = await openStreamRef(o, name);
  const store = opened.target.store;
  const { chunks, extraObjects } = await checkObjects(store, opened.layout, opened.manifest, workers);

  let report: VerifyReport;
  if (o.quick) {
    report = finish(name, 'quick', chunks, extraObjects);
  } else {
    const full = await readEverything(store, opened, workers, o.progress);
    // The metadata pass still speaks for chunks the read never reached (e.g. every missing one).
    const merged = chunks.map((c, i) => (c.status !== 'ok' ? c : full.chunks[i]!));
    report = finish(name, 'full', merged, extraObjects, full.streamProblem);
  }
  process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatReport(report, o.quiet));
  const code = exitCodeFor(report);
  if (code !== ExitCode.ok) throw new S3ductError(`verify "${name}": ${problemCount(report)} problem(s) found (see the report on stdout)`, code);
}

function finish(stream: string, level: 'quick' | 'full', chunks: ChunkResult[], extraObjects: string[], streamProblem?: string): VerifyReport {
  const report = { stream, level, ok: true, chunks, extraObjects, ...(streamProblem ? { streamProblem } : {}) };
  return { ...report, ok: exitCodeFor(report) === ExitCode.ok };
}

/**
 * Metadata only, so it works on archived objects. One listing (a request per 1,000 keys)
 * instead of a HEAD per chunk; a chunk missing from the listing is confirmed with HEAD before
 * it is called missing, because some stores (Swift) update listings after the write.
 */
async function checkObjects(store: Store, layout: StreamLayout, m: Manifest, workers: number) {
  const listed = new Map<string, ObjectInfo>();
  for await (const info of store.list(layout.chunksDir)) listed.set(info.key, info);
  const limit = new Semaphore(Math.max(workers, 8));
  const chunks = await Promise.all(
    m.chunks.map(async (c) => {
      const key = layout.chunk(c.index);
      let info = listed.get(key) ?? null;
      if (!info) {
        await limit.acquire();
        try {
          info = await store.head(key);
        } finally {
          limit.release();
        }
      }
      return checkChunkObject(c, key, info);
    }),
  );
  const expected = new Set(m.chunks.map((c) => layout.chunk(c.index)));
  return { chunks, extraObjects: [...listed.keys()].filter((k) => !expected.has(k)) };
}

/**
 * Full read through getStream with a discarding sink: exactly get's checks, no copy of them.
 * getStream stops at the first failure; a failure that belongs to a chunk comes tagged with
 * it (ChunkError), anything else is a whole-stream check.
 */
async function readEverything(store: Store, s: OpenStream, workers: number, showProgress: boolean) {
  const n = s.manifest.chunks.length;
  const results: ChunkResult[] = s.manifest.chunks.map((c) => ({ index: c.index, key: s.layout.chunk(c.index), status: 'not-checked' }));
  let streamProblem: string | undefined;
  const progress = await createProgress({ verb: 'verify', enabled: showProgress, totalBytes: s.manifest.stream.size });
  try {
    await getStream({
      layout: s.layout,
      manifest: s.manifest,
      codec: s.codec,
      store,
      sink: DISCARD,
      concurrency: workers,
      rangeSize: RANGE_SIZE,
      onWritten: (b) => progress.advance(b),
      onChunkVerified: (c) => {
        results[c.index] = { ...results[c.index]!, status: 'ok' };
        progress.chunkDone();
      },
    });
  } catch (e) {
    if (!(e instanceof S3ductError)) throw e;
    const status = ({ [ExitCode.integrity]: 'corrupt', [ExitCode.notFound]: 'missing', [ExitCode.notReady]: 'archived' } as const)[e.exitCode as 4 | 5 | 2];
    if (!status) throw e; // network, auth: not a finding about the data
    const at = e instanceof ChunkError ? e.chunk : n; // untagged: a whole-stream check failed
    if (at >= n) streamProblem = e.message;
    else results[at] = { ...results[at]!, status, detail: e.message };
  } finally {
    progress.stop();
  }
  return { chunks: results, streamProblem };
}

