import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';
import { RESTORE_TIERS, type RestoreTier } from '../store/store.js';
import { parseDuration } from '../units.js';
import { parseCount } from './common-options.js';
import { suggestValues } from './command-model.js';

/** Options of a restore (restore, get --restore). */
export function addThawOptions(cmd: Command): Command {
  return cmd
    .addOption(suggestValues(new Option('--tier <tier>', 'retrieval tier: Bulk, Standard or Expedited (not for DEEP_ARCHIVE)').default('Bulk'), RESTORE_TIERS))
    .addOption(new Option('--days <n>', 'days the restored copies stay readable').default('7'))
    .addOption(new Option('--lifetime <n>', 'same as --days').hideHelp())
    .addOption(new Option('--poll-interval <duration>', 'time between status checks while waiting (1s..1h)').default('10m'))
    .addOption(new Option('--timeout <duration>', 'give up waiting after this long (exit 2; the restore goes on)').default('96h'));
}

export interface RawThawOptions {
  tier: string;
  days: string;
  lifetime?: string;
  pollInterval: string;
  timeout: string;
}

export interface ThawOptions {
  readonly tier: RestoreTier;
  readonly days: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
}

export function parseTier(text: string): RestoreTier {
  const t = RESTORE_TIERS.find((x) => x.toLowerCase() === text.toLowerCase());
  if (!t) throw usageError(`invalid --tier "${text}": use Bulk, Standard or Expedited`);
  return t;
}

export function thawOptionsFrom(o: RawThawOptions): ThawOptions {
  if (o.lifetime !== undefined && o.days !== '7' && o.lifetime !== o.days) throw usageError('give --days or --lifetime, not both');
  const intervalMs = parseDuration(o.pollInterval, '--poll-interval');
  if (intervalMs < 1000 || intervalMs > 3_600_000) throw usageError('--poll-interval must be between 1s and 1h');
  const timeoutMs = parseDuration(o.timeout, '--timeout');
  if (timeoutMs <= 0 || timeoutMs > 30 * 86_400_000) throw usageError('--timeout must be more than 0 and at most 30d');
  return { tier: parseTier(o.tier), days: parseCount(o.lifetime ?? o.days, '--days', 1, 30000), intervalMs, timeoutMs };
}

/** Names of options whose value came from the environment (left out of suggested commands). */
export function optionsFromEnv(cmd: Command): Set<string> {
  return new Set(cmd.options.map((o) => o.attributeName()).filter((n) => cmd.getOptionValueSource(n) === 'env'));
}
