import { usageError } from './errors.js';

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses "64M", "1G", "512K", "1048576" (power-of-1024 units; "MiB"/"MB" accepted as M). */
export function parseSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(text);
  if (!m) throw usageError(`invalid ${what} "${text}": use a whole number with an optional K, M, G or T suffix (powers of 1024), e.g. 64M`);
  const n = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(n)) throw usageError(`invalid ${what} "${text}": too large`);
  return n;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(n)} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${Math.round(seconds % 60)}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}

/** Parses "90s", "10m", "2h", "1d" (a bare number is seconds) into milliseconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) throw usageError(`invalid ${what} "${text}": use a number with s, m, h or d, e.g. 10m`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's').toLowerCase() as 'ms']!;
  return Number(m[1]) * unit;
}
