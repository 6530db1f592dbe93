import { readFile } from 'node:fs/promises';
import { usageError } from '../errors.js';
import type { RestoreTier } from '../store/store.js';

export interface TierPrice {
  /** Per GiB retrieved (AWS bills a "GB" of 2^30 bytes). */
  readonly perGB: number;
  /** Per 1,000 restore requests (one per chunk object). */
  readonly per1000Requests: number;
  /** Typical completion, as the provider states it. */
  readonly time: string;
}

export interface PriceTable {
  readonly currency: string;
  readonly source: string;
  /** Storage class → tiers it offers. A tier absent here is not offered for that class. */
  readonly classes: Readonly<Record<string, Readonly<Partial<Record<RestoreTier, TierPrice>>>>>;
  /** The restored copy is billed as STANDARD storage for the days it is kept. */
  readonly restoredCopyPerGBMonth: number;
}

/**
 * AWS us-east-1 list prices, taken 2026-11-24 (README "Restore prices"). Estimates only:
 * regions, providers and prices differ; users override with --prices FILE.
 */
export const DEFAULT_PRICES: PriceTable = {
  currency: 'USD',
  source: 'AWS S3 us-east-1 list prices, 2026-11-24',
  classes: {
    GLACIER: {
      Expedited: { perGB: 0.03, per1000Requests: 10, time: '1-5 minutes' },
      Standard: { perGB: 0.01, per1000Requests: 0.05, time: '3-5 hours' },
      Bulk: { perGB: 0, per1000Requests: 0, time: '5-12 hours' },
    },
    DEEP_ARCHIVE: {
      Standard: { perGB: 0.02, per1000Requests: 0.1, time: 'within 12 hours' },
      Bulk: { perGB: 0.0025, per1000Requests: 0.025, time: 'within 48 hours' },
    },
  },
  restoredCopyPerGBMonth: 0.023,
};

/** Tiers a class offers, per the price table (Expedited is not offered for DEEP_ARCHIVE). */
export function tiersOffered(table: PriceTable, storageClass: string): RestoreTier[] {
  return Object.keys(table.classes[storageClass] ?? {}) as RestoreTier[];
}

const num = (v: unknown, what: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw usageError(`--prices: ${what} must be a non-negative number`);
  return v;
};

/** Merges a user's JSON price file over the defaults: only the fields it names change. */
export function mergePrices(base: PriceTable, user: any): PriceTable {
  if (!user || typeof user !== 'object' || Array.isArray(user)) throw usageError('--prices: expected a JSON object');
  const classes: Record<string, Partial<Record<RestoreTier, TierPrice>>> = { ...base.classes };
  for (const [cls, tiers] of Object.entries(user.classes ?? {})) {
    if (!tiers || typeof tiers !== 'object') throw usageError(`--prices: classes.${cls} must be an object`);
    const merged: Partial<Record<RestoreTier, TierPrice>> = { ...classes[cls] };
    for (const [tier, p] of Object.entries(tiers as Record<string, any>)) {
      if (!['Bulk', 'Standard', 'Expedited'].includes(tier)) throw usageError(`--prices: classes.${cls}: unknown tier "${tier}"`);
      const old = merged[tier as RestoreTier];
      merged[tier as RestoreTier] = {
        perGB: num(p?.perGB ?? old?.perGB, `classes.${cls}.${tier}.perGB`),
        per1000Requests: num(p?.per1000Requests ?? old?.per1000Requests, `classes.${cls}.${tier}.per1000Requests`),
        time: String(p?.time ?? old?.time ?? 'unknown'),
      };
    }
    classes[cls] = merged;
  }
  return {
    currency: typeof user.currency === 'string' ? user.currency : base.currency,
    source: typeof user.source === 'string' ? user.source : 'user price file',
    classes,
    restoredCopyPerGBMonth: user.restoredCopyPerGBMonth === undefined ? base.restoredCopyPerGBMonth : num(user.restoredCopyPerGBMonth, 'restoredCopyPerGBMonth'),
  };
}

export async function loadPrices(file: string | undefined): Promise<PriceTable> {
  if (!file) return DEFAULT_PRICES;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e: any) {
    throw usageError(`--prices ${file}: ${e?.code === 'ENOENT' ? 'no such file' : e?.message ?? e}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw usageError(`--prices ${file}: not valid JSON`);
  }
  return mergePrices(DEFAULT_PRICES, json);
}
