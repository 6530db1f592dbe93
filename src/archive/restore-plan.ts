import { usageError } from '../errors.js';
import { isArchiveClass } from '../format/storage-class.js';
import type { RestoreTier } from '../store/store.js';
import type { ChunkStatus } from './chunk-status.js';
import { tiersOffered, type PriceTable } from './prices.js';

export interface ClassPlan {
  readonly storageClass: string;
  readonly chunks: number;
  readonly bytes: number;
  readonly time: string;
  readonly requestCost: number;
  readonly retrievalCost: number;
}

export interface RestorePlan {
  readonly tier: RestoreTier;
  readonly days: number;
  /** Chunks a restore request goes out for: archived with none requested (or expired). */
  readonly toRestore: readonly ChunkStatus[];
  /** Already restoring: counted, not requested again. */
  readonly restoring: number;
  readonly readable: number;
  readonly byClass: readonly ClassPlan[];
  readonly bytes: number;
  /** Requests + retrieval + the restored copy kept for `days` days. */
  readonly estimatedCost: number;
  readonly copyCost: number;
  readonly currency: string;
  readonly priceSource: string;
}

const GIB = 1024 ** 3;

/**
 * Decides what a restore does and what it should cost. Refuses a tier any archived chunk's
 * class does not offer before anything is requested, so a restore never half-starts.
 */
export function planRestore(chunks: readonly ChunkStatus[], tier: RestoreTier, days: number, prices: PriceTable): RestorePlan {
  for (const cls of new Set(chunks.filter((c) => isArchiveClass(c.storageClass)).map((c) => c.storageClass))) {
    const offered = tiersOffered(prices, cls);
    if (!offered.includes(tier)) throw usageError(`tier ${tier} is not offered for ${cls}; use ${offered.join(' or ') || 'another tier'}`);
  }
  const toRestore = chunks.filter((c) => c.state.kind === 'archived');
  const groups = new Map<string, ChunkStatus[]>();
  for (const c of toRestore) groups.set(c.storageClass, [...(groups.get(c.storageClass) ?? []), c]);
  const byClass = [...groups].map(([storageClass, cs]): ClassPlan => {
    const p = prices.classes[storageClass]![tier]!;
    const bytes = cs.reduce((s, c) => s + c.size, 0);
    return { storageClass, chunks: cs.length, bytes, time: p.time, requestCost: (cs.length / 1000) * p.per1000Requests, retrievalCost: (bytes / GIB) * p.perGB };
  });
  const bytes = byClass.reduce((s, c) => s + c.bytes, 0);
  const copyCost = (bytes / GIB) * prices.restoredCopyPerGBMonth * (days / 30);
  return {
    tier,
    days,
    toRestore,
    restoring: chunks.filter((c) => c.state.kind === 'restoring').length,
    readable: chunks.filter((c) => c.state.kind === 'readable' || c.state.kind === 'restored').length,
    byClass,
    bytes,
    copyCost,
    estimatedCost: byClass.reduce((s, c) => s + c.requestCost + c.retrievalCost, 0) + copyCost,
    currency: prices.currency,
    priceSource: prices.source,
  };
}
