import { createInterface } from 'node:readline/promises';
import { storeSpecFrom, type RawStoreOptions } from '../cli/common-options.js';
import { ExitCode, S3ductError, notFoundError, usageError } from '../errors.js';
import { StreamLayout, validateStreamName } from '../format/layout.js';
import { openStore } from '../store/open-store.js';
import type { IncompleteUpload, ObjectInfo, Store } from '../store/store.js';
import { formatBytes } from '../units.js';

export interface DeleteOptions extends RawStoreOptions {
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
}

/** The keys that belong to one stream. Not "everything under <stream>/": stream names nest
 *  (a/b lives under a/), so only the reserved leaves and the chunk prefix are the stream's. */
export function belongsToStream(layout: StreamLayout, key: string): boolean {
  return key === layout.manifest || key === layout.resume || key === layout.lock || key.startsWith(layout.chunksDir);
}

export async function planDelete(store: Store, layout: StreamLayout): Promise<DeletePlan> {
  const [manifest, resume, lock] = await Promise.all([store.head(layout.manifest), store.head(layout.resume), store.head(layout.lock)]);
  const chunks: ObjectInfo[] = [];
  for await (const o of store.list(layout.chunksDir)) chunks.push(o);
  const incomplete: IncompleteUpload[] = [];
  for await (const u of store.listIncomplete(layout.dir)) if (belongsToStream(layout, u.key)) incomplete.push(u);
  return { manifest, control: [resume, lock].filter((o): o is ObjectInfo => o !== null), chunks, incomplete };
}

const objectsOf = (p: DeletePlan) => [...(p.manifest ? [p.manifest] : []), ...p.control, ...p.chunks];

export function describePlan(name: string, location: string, p: DeletePlan): string {
  const bytes = objectsOf(p).reduce((n, o) => n + o.size, 0);
  const parts = [
    p.manifest ? 'the manifest' : 'no manifest (an unfinished put)',
    `${p.chunks.length} chunk object${p.chunks.length === 1 ? '' : 's'}`,
    ...p.control.map((o) => o.key.slice(o.key.lastIndexOf('/') + 1) + ' state'),
    ...(p.incomplete.length ? [`${p.incomplete.length} incomplete upload${p.incomplete.length === 1 ? '' : 's'}`] : []),
  ];
  return `stream "${name}" at ${location}: ${parts.join(', ')} (${formatBytes(bytes)})`;
}

/**
 * Order: manifest FIRST. Once it is gone no command treats the stream as a restorable backup;
 * if the delete is then interrupted, what is left is exactly what an interrupted put leaves
 * (chunks without a manifest), which the same `delete --name` finds again through the chunk
 * prefix and finishes. Deleting chunks first would, if interrupted, leave a manifest
 * advertising a complete backup that can no longer be restored, the worse state for a backup
 * tool. The resume state goes next so a later put cannot resume onto chunks being removed;
 * incomplete uploads before the chunks; the lock last, so a put started meanwhile still
 * sees it while objects are being removed.
 */
export async function executeDelete(store: Store, p: DeletePlan): Promise<void> {
  if (p.manifest) await store.delete([p.manifest.key]);
  const lock = p.control.filter((o) => o.key.endsWith('/lock')).map((o) => o.key);
  await store.delete(p.control.map((o) => o.key).filter((k) => !lock.includes(k)));
  for (const u of p.incomplete) await store.abortIncomplete(u);
  await store.delete(p.chunks.map((o) => o.key));
  if (lock.length) await store.delete(lock);
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export async function deleteCommand(o: DeleteOptions): Promise<void> {
  if (!o.name) throw usageError('delete needs --name NAME of the stream');
  const name = validateStreamName(o.name);
  const { store, prefix } = await openStore(storeSpecFrom(o));
  const plan = await planDelete(store, new StreamLayout(prefix, name));
  if (!plan.manifest && !plan.control.length && !plan.chunks.length && !plan.incomplete.length)
    throw notFoundError(`no stream "${o.name}" at ${store.location}`);

  const text = describePlan(o.name, store.location, plan);
  const report = (deleted: boolean) => {
    if (o.json)
      process.stdout.write(
        JSON.stringify({
          stream: o.name,
          location: store.location,
          dryRun: !!o.dryRun,
          deleted,
          complete: plan.manifest !== null,
          objects: objectsOf(plan).map((x) => ({ key: x.key, size: x.size })),
          incompleteUploads: plan.incomplete.map((u) => ({ key: u.key, id: u.id })),
        }) + '\n',
      );
    else if (!o.quiet) process.stdout.write(`${deleted ? 'deleted' : 'would delete'} ${text}\n`);
  };

  if (o.dryRun) return report(false);
  if (!o.yes) {
    if (!process.stdin.isTTY) throw usageError(`refusing to delete ${text} without confirmation: pass --yes`);
    if (!(await confirm(`delete ${text}? [y/N] `))) throw new S3ductError('cancelled; nothing deleted', ExitCode.failure);
  }
  try {
    await executeDelete(store, plan);
  } catch (e: any) {
    const why = e instanceof S3ductError ? e.message : e?.message ?? String(e);
    throw new S3ductError(`delete of "${o.name}" interrupted (${why}); run the same delete again to finish`, e instanceof S3ductError ? e.exitCode : ExitCode.failure);
  }
  report(true);
}
