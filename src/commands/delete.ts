import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { ExitCode, S3ductError, notFoundError, usageError } from '../errors.js';
import { StreamLayout, validateStreamName } from '../format/layout.js';
import { LocalJournal } from '../resume/local-journal.js';
import { acquireLock } from '../resume/lock.js';
import { StoreLock } from '../resume/store-lock.js';
import { streamStateStem } from '../resume/state-dir.js';
import { isPrivateId } from '../format/private-id.js';
import { storeWhere, type IncompleteUpload, type ObjectInfo, type Store } from '../store/store.js';
import { formatBytes } from '../units.js';
import { warn } from '../ui/log.js';
import { listPrivateStreams } from './stream-resolve.js';
import { openTarget, type Target, type TargetOptions } from './target.js';
import { streamNameFrom } from './thaw-flow.js';

export interface DeleteOptions extends TargetOptions {
  name?: string;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  quiet: boolean;
}

/** Everything stored for one stream, complete or left by an interrupted put. */
export interface DeletePlan {
  readonly manifest: ObjectInfo | null;
  /** resume and lock objects. */
  readonly control: readonly ObjectInfo[];
  readonly chunks: readonly ObjectInfo[];
  readonly incomplete: readonly IncompleteUpload[];
  /** This machine's journal of an interrupted put of the stream (resume state), if any. */
  readonly localJournal: string | null;
}

/** The keys that belong to one stream. Not "everything under <stream>/": stream names nest
 *  (a/b lives under a/), so only the reserved leaves and the chunk prefix are the stream's. */
export function belongsToStream(layout: StreamLayout, key: string): boolean {
  return key === layout.manifest || key === layout.resume || key === layout.lock || isChunkKey(layout, key);
}

/** chunks/<digits> only: anything deeper under chunks/ (another program's, or a stream put
 *  there by an older s3duct that took such a --prefix) is not this stream's to delete. */
const isChunkKey = (layout: StreamLayout, key: string) => key.startsWith(layout.chunksDir) && /^\d+$/.test(key.slice(layout.chunksDir.length));

/** The lock is planned only for a dry run: a delete holds it from before the plan, and
 *  releases it last. */
export async function planDelete(store: Store, layout: StreamLayout, journalFile: string, withLock = false): Promise<DeletePlan> {
  const [manifest, resume, lock] = await Promise.all([store.head(layout.manifest), store.head(layout.resume), withLock ? store.head(layout.lock) : null]);
  const chunks: ObjectInfo[] = [];
  for await (const o of store.list(layout.chunksDir)) if (isChunkKey(layout, o.key)) chunks.push(o);
  const incomplete: IncompleteUpload[] = [];
  for await (const u of store.listIncomplete(layout.dir)) if (belongsToStream(layout, u.key)) incomplete.push(u);
  const localJournal = existsSync(journalFile) ? journalFile : null;
  return { manifest, control: [resume, lock].filter((o): o is ObjectInfo => o !== null), chunks, incomplete, localJournal };
}

const objectsOf = (p: DeletePlan) => [...(p.manifest ? [p.manifest] : []), ...p.control, ...p.chunks];

export function describePlan(name: string, location: string, p: DeletePlan): string {
  const bytes = objectsOf(p).reduce((n, o) => n + o.size, 0);
  const parts = [
    p.manifest ? 'the manifest' : 'no manifest (an unfinished put)',
    `${p.chunks.length} chunk object${p.chunks.length === 1 ? '' : 's'}`,
    ...p.control.map((o) => o.key.slice(o.key.lastIndexOf('/') + 1) + ' state'),
    ...(p.incomplete.length ? [`${p.incomplete.length} incomplete upload${p.incomplete.length === 1 ? '' : 's'}`] : []),
    ...(p.localJournal ? ['the local resume journal'] : []),
  ];
  return `stream "${name}" at ${location}: ${parts.join(', ')} (${formatBytes(bytes)})`;
}

/**
 * Order: manifest FIRST. Once it is gone no command treats the stream as a restorable backup;
 * if the delete is then interrupted, what is left is exactly what an interrupted put leaves
 * (chunks without a manifest), which the same `delete --name` finds again through the chunk
 * prefix and finishes. Deleting chunks first would, if interrupted, leave a manifest
 * advertising a complete backup that can no longer be restored, the worse state for a backup
 * tool. The resume state (store copy and this machine's journal) goes next, so a later put
 * cannot resume onto chunks being removed; incomplete uploads before the chunks. The store
 * lock, the delete's own since before the plan, is released last by the caller.
 */
export async function executeDelete(store: Store, p: DeletePlan): Promise<void> {
  if (p.manifest) await store.delete([p.manifest.key]);
  await store.delete(p.control.map((o) => o.key));
  if (p.localJournal) await new LocalJournal(p.localJournal).remove();
  for (const u of p.incomplete) await store.abortIncomplete(u);
  await store.delete(p.chunks.map((o) => o.key));
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // Ctrl-C or Ctrl-D at the question is a no, like any answer but "y".
  const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
  rl.once('SIGINT', () => rl.close());
  try {
    const answer = await Promise.race([rl.question(question), closed]).catch(() => '');
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * The one version of a private name. delete never guesses among several: deleting the
 * newest would surprise as much as deleting all, so it names the ids to choose from.
 */
async function onlyVersionOf(target: Target, name: string): Promise<string> {
  const ids: string[] = [];
  for await (const e of listPrivateStreams(target.store, target.prefix, target.protection)) if (e.kind === 'stream' && e.manifest.name === name) ids.push(e.id);
  if (!ids.length) throw notFoundError(`no stream named "${name}" at ${storeWhere(target.store, target.prefix)} (an unfinished put has no name yet: delete it by its id, shown by list)`);
  if (ids.length > 1) throw usageError(`"${name}" has ${ids.length} versions (${ids.join(', ')}); delete takes one of these ids`);
  return ids[0]!;
}

export async function deleteCommand(arg: string | undefined, o: DeleteOptions): Promise<void> {
  const ref = streamNameFrom(arg, o.name, 'delete');
  // The store from a profile or the flags. A stream is deleted by its object key: its name, or
  // its id under private names; only a private name needs manifests opened (and the key).
  const target = await openTarget(o, 'read');
  const { store, prefix, privateNames } = target;
  const name = privateNames && !isPrivateId(ref) ? await onlyVersionOf(target, ref) : validateStreamName(ref);
  // The same per-machine state a put of this stream uses: its journal and its lock. Holding
  // the lock from planning to the end, a put of this stream on this machine cannot run (and
  // add objects) under the delete; a dry run changes nothing and takes no lock.
  if (!o.dryRun && !o.yes && !process.stdin.isTTY) throw usageError(`refusing to delete stream "${name}" without confirmation: pass --yes (or --dry-run to see what would go)`);
  const stem = streamStateStem(store.location, prefix, name);
  const releaseLock = o.dryRun ? async () => {} : await acquireLock(`${stem}.lock`, `stream "${name}"`);
  const layout = new StreamLayout(prefix, name);
  // The store lock too, from the plan to the last delete: a put elsewhere that started or
  // resumed in between (while the question waits) would write chunks the plan then removes,
  // and report a complete backup. A running put's lock refuses the delete (exit 7).
  const lock = o.dryRun ? undefined : await StoreLock.acquire(store, layout, name, '', 'delete');
  let deleting = false;
  try {
    const plan = await planDelete(store, layout, `${stem}.journal`, !lock);
    if (!plan.manifest && !plan.control.length && !plan.chunks.length && !plan.incomplete.length && !plan.localJournal)
      throw notFoundError(`no stream "${name}" at ${storeWhere(store, prefix)}`);
    const text = describePlan(name, storeWhere(store, prefix), plan);
    if (!o.dryRun && !o.yes) {
      if (!(await confirm(`delete ${text}? [y/N] `))) throw new S3ductError('cancelled; nothing deleted', ExitCode.failure);
    }
    if (!o.dryRun) {
      // A signal mid-way: the lock is marked stopped (so the next delete or put takes it at
      // once), and the same delete finishes the rest.
      const onSignal = (sig: NodeJS.Signals) => {
        void lock!.stopped().finally(() => {
          warn(`delete of "${name}" interrupted by ${sig}; run the same delete again to finish`);
          process.exit(ExitCode.interrupted);
        });
      };
      const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
      try {
        await lock!.check(name);
        deleting = true;
        for (const sig of signals) process.once(sig, onSignal);
        await executeDelete(store, plan);
        deleting = false;
      } catch (e: any) {
        const why = e instanceof S3ductError ? e.message : e?.message ?? String(e);
        throw new S3ductError(`delete of "${name}" interrupted (${why}); run the same delete again to finish`, e instanceof S3ductError ? e.exitCode : ExitCode.failure);
      } finally {
        for (const sig of signals) process.off(sig, onSignal);
      }
    }
    if (o.json) process.stdout.write(JSON.stringify(planJson(name, store.location, plan, !o.dryRun)) + '\n');
    else if (!o.quiet) process.stdout.write(`${o.dryRun ? 'would delete' : 'deleted'} ${text}\n`);
  } finally {
    // A delete that stopped part-way leaves its lock marked stopped: the next delete or put takes it over.
    await (deleting ? lock?.stopped() : lock?.release())?.catch(() => {});
    await releaseLock();
  }
}

function planJson(stream: string, location: string, p: DeletePlan, deleted: boolean) {
  return {
    stream,
    location,
    dryRun: !deleted,
    deleted,
    complete: p.manifest !== null,
    objects: objectsOf(p).map((x) => ({ key: x.key, size: x.size })),
    incompleteUploads: p.incomplete.map((u) => ({ key: u.key, id: u.id })),
    localJournal: p.localJournal !== null,
  };
}
