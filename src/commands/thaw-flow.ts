import { aggregateStatus, type ChunkStatus } from '../archive/chunk-status.js';
import { surveyChunks } from '../archive/chunk-survey.js';
import type { PriceTable } from '../archive/prices.js';
import { requestRestores } from '../archive/request-restores.js';
import { planRestore, type RestorePlan } from '../archive/restore-plan.js';
import { ThawWatch } from '../archive/thaw-watch.js';
import type { RawAgeOptions, RawStoreOptions } from '../cli/common-options.js';
import type { ThawOptions } from '../cli/thaw-options.js';
import { failure, notFoundError, usageError } from '../errors.js';
import type { StreamLayout } from '../format/layout.js';
import type { Manifest } from '../format/manifest.js';
import type { Store } from '../store/store.js';
import { warn } from '../ui/log.js';
import { formatBytes, formatDuration } from '../units.js';

export interface ThawTarget {
  readonly store: Store;
  readonly layout: StreamLayout;
  readonly manifest: Manifest;
}

/** The stream name from `<stream>` or `--name`, whichever was given. */
export function streamNameFrom(arg: string | undefined, name: string | undefined, verb: string): string {
  if (arg && name && arg !== name) throw usageError(`${verb}: give the stream name once (argument "${arg}" or --name "${name}")`);
  const n = arg ?? name;
  if (!n) throw usageError(`${verb} needs the stream name: s3duct ${verb} NAME (or --name NAME)`);
  return n;
}

/** Surveys the chunks and refuses a stream that no restore can make whole. */
export async function surveyForThaw(t: ThawTarget): Promise<ChunkStatus[]> {
  return refuseUnrestorable(t, await surveyChunks(t.store, t.layout, t.manifest));
}

/** A missing chunk (exit 5) is said before any restore is suggested, or paid for. */
export function refuseUnrestorable(t: ThawTarget, chunks: ChunkStatus[]): ChunkStatus[] {
  const status = aggregateStatus(chunks);
  if (status.word === 'missing') throw notFoundError(`stream "${t.manifest.name}": ${status.line}`);
  if (status.word === 'unknown') throw failure(`stream "${t.manifest.name}": ${status.line}`);
  return chunks;
}

/** Plans and requests the restore; returns the plan it carried out. */
export async function requestThaw(t: ThawTarget, chunks: readonly ChunkStatus[], o: ThawOptions, prices: PriceTable, say: boolean): Promise<RestorePlan> {
  const plan = planRestore(chunks, o.tier, o.days, prices);
  await requestRestores(t.store, plan.toRestore, o.days, o.tier);
  if (say && plan.toRestore.length)
    warn(
      `restore requested for ${plan.toRestore.length} chunk(s), ${formatBytes(plan.bytes)}, tier ${o.tier}, readable for ${o.days} day(s)` +
        (plan.byClass.length ? `; expected ${plan.byClass.map((c) => `${c.time} (${c.storageClass})`).join(', ')}` : '') +
        (plan.restoring ? `; ${plan.restoring} already restoring` : ''),
    );
  return plan;
}

/** Starts watching for the chunks to become readable, with a line of progress per poll. */
export function watchThaw(t: ThawTarget, chunks: readonly ChunkStatus[], o: ThawOptions, progress: boolean): ThawWatch {
  return new ThawWatch({
    ...t,
    initial: chunks,
    intervalMs: o.intervalMs,
    timeoutMs: o.timeoutMs,
    rerequest: (c) => requestRestores(t.store, [c], o.days, o.tier),
    onPoll: progress ? (ready, total, ms) => warn(`waiting for restore: ${ready}/${total} chunks readable, elapsed ${formatDuration(ms / 1000)}`) : undefined,
  });
}

const shellWord = (w: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

/**
 * The `s3duct restore …` command that thaws what a get needs, with the store and key options
 * the user typed (those set from the environment are left out: they still apply). A key given
 * inline as hex is never echoed.
 */
type HintOptions = RawStoreOptions & RawAgeOptions & { key?: string; profile?: string; passwordEnv?: string };

export function restoreCommandHint(name: string, o: HintOptions, fromEnv: ReadonlySet<string>): string {
  return commandHint(['restore', name], o, fromEnv, ['--wait']);
}

/** A command line for the same stream and store, as the user gave them (flags that came
 *  from the environment left out; a hex key never repeated). */
export function commandHint(words: readonly string[], o: HintOptions, fromEnv: ReadonlySet<string>, after: readonly string[] = []): string {
  const line = ['s3duct', ...words];
  const add = (flag: string, attr: keyof typeof o, value = o[attr]) => {
    if (value !== undefined && !fromEnv.has(attr)) line.push(flag, String(value));
  };
  add('--profile', 'profile');
  add('--password-env', 'passwordEnv');
  add('--store', 'store');
  add('--bucket', 'bucket');
  add('--prefix', 'prefix');
  add('--endpoint-url', 'endpointUrl');
  add('--region', 'region');
  add('--key', 'key', o.key?.startsWith('hex:') ? 'hex:<your key>' : o.key);
  for (const file of o.ageIdentity ?? []) line.push('--age-identity', file);
  add('--age-passphrase-env', 'agePassphraseEnv');
  return [...line.map(shellWord), ...after].join(' ');
}
