import { isReadable } from '../archive/chunk-status.js';
import { loadPrices } from '../archive/prices.js';
import { planRestore, type RestorePlan } from '../archive/restore-plan.js';
import { thawOptionsFrom, type RawThawOptions, type ThawOptions } from '../cli/thaw-options.js';
import { warn } from '../ui/log.js';
import { formatBytes } from '../units.js';
import { resolveStream } from './stream-resolve.js';
import { openTarget, type Target, type TargetOptions } from './target.js';
import { ExitCode, S3ductError, notReadyError } from '../errors.js';
import { StreamLayout } from '../format/layout.js';
import { isPrivateId } from '../format/private-id.js';
import { commandHint, requestThaw, streamNameFrom, surveyForThaw, watchThaw } from './thaw-flow.js';

export interface RestoreOptions extends TargetOptions, RawThawOptions {
  name?: string;
  key?: string;
  dryRun?: boolean;
  wait?: boolean;
  prices?: string;
  json?: boolean;
  progress: boolean;
  /** Options set from the environment, left out of the suggested head command. */
  fromEnv?: ReadonlySet<string>;
}

export async function restoreCommand(arg: string | undefined, o: RestoreOptions): Promise<void> {
  const name = streamNameFrom(arg, o.name, 'restore');
  const thaw = thawOptionsFrom(o);
  const prices = await loadPrices(o.prices);
  const where = await openTarget(o, 'read');
  const store = where.store;
  const { layout, manifest } = await resolveStream(where, name).catch((e) => restoreManifestFirst(e, where, name, thaw, o.dryRun === true));
  const target = { store, layout, manifest };
  const chunks = await surveyForThaw(target);
  if (o.dryRun) {
    printPlan(planRestore(chunks, thaw.tier, thaw.days, prices), chunks.length, o.json === true);
    return;
  }
  const plan = await requestThaw(target, chunks, thaw, prices, o.progress);
  if (!plan.toRestore.length && !plan.restoring) {
    if (o.progress) warn(`nothing to restore: ${allReadable(chunks.length, name)}`);
    return;
  }
  if (!o.wait) {
    if (o.progress && !chunks.every((c) => isReadable(c.state)))
      warn(`check with: ${commandHint(['head', name], o, o.fromEnv ?? new Set())} (exit 0 once readable), or run restore again with --wait`);
    return;
  }
  const watch = watchThaw(target, chunks, thaw, o.progress);
  await watch.done;
  if (o.progress) warn(`restore complete: ${allReadable(chunks.length, name)}`);
}

/**
 * A manifest moved to an archive class (a bucket lifecycle rule that matched every object) is
 * unreadable until restored itself, and only it says which chunks to restore: its restore is
 * requested first, and the command stops with exit 2 until it is readable.
 */
async function restoreManifestFirst(e: unknown, t: Target, name: string, thaw: ThawOptions, dryRun: boolean): Promise<never> {
  const archived = e instanceof S3ductError && e.exitCode === ExitCode.notReady;
  if (!archived || (t.privateNames && !isPrivateId(name))) throw e;
  const key = new StreamLayout(t.prefix, name).manifest;
  if (dryRun) throw notReadyError(`the manifest ${key} is archived too: restore would first request it (${thaw.tier}, ${thaw.days} day(s)), then the chunks`);
  await t.store.requestRestore(key, thaw.days, thaw.tier);
  throw notReadyError(`the manifest ${key} is archived too (a lifecycle rule?): its restore was requested (${thaw.tier}, ${thaw.days} day(s)); run the same restore again once it is readable, to restore the chunks`);
}

function printPlan(p: RestorePlan, total: number, json: boolean): void {
  const money = (v: number) => `${v.toFixed(v < 1 ? 4 : 2)} ${p.currency}`;
  if (json) {
    const { toRestore, ...rest } = p;
    process.stdout.write(JSON.stringify({ ...rest, total, chunksToRestore: toRestore.map((c) => c.index) }) + '\n');
    return;
  }
  const lines = [
    `would restore ${p.toRestore.length} of ${total} chunks (${formatBytes(p.bytes)}) at tier ${p.tier}, readable for ${p.days} day(s)`,
    `already readable: ${p.readable}; already restoring: ${p.restoring}`,
    ...p.byClass.map(
      (c) =>
        `  ${c.storageClass}: ${c.chunks} chunks, ${formatBytes(c.bytes)}, expected ${c.time}; requests ${money(c.requestCost)}, retrieval ${money(c.retrievalCost)}`,
    ),
    `  restored copy for ${p.days} day(s): ${money(p.copyCost)}`,
    `estimated cost: ${money(p.estimatedCost)} (estimate from ${p.priceSource}; override with --prices FILE)`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function allReadable(n: number, name: string): string {
  return n === 1 ? `the one chunk of "${name}" is readable` : `all ${n} chunks of "${name}" are readable`;
}
