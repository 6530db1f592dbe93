import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Wall time of short CLI runs, each the median of interleaved runs (a busy machine slows all
 *  alike, so the ratio to bare `node -e 0` is the figure to compare across machines). */
export interface StartupResult {
  /** `node bin/s3duct.js --help`, median ms. Goal: under 120 ms on the project machine. */
  readonly helpMs: number;
  /** Fastest single `--help` run: the floor without scheduling noise. */
  readonly helpMinMs: number;
  /** `node -e 0`: what any Node program pays before its first line. */
  readonly nodeBaselineMs: number;
  /** helpMs / nodeBaselineMs. */
  readonly helpVsNode: number;
  /** `verify` of a missing stream on a local store: loads the command, store and crypto modules, not the S3 SDK. */
  readonly localCommandMs: number;
  /** `build/s3duct --help` (the single executable), when it has been built. */
  readonly binaryHelpMs?: number;
  readonly runs: number;
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function timeOnce(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: REPO, stdio: 'ignore', env: { ...process.env, S3DUCT_STATE_DIR: path.join(REPO, 'build', 'bench-state') } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number) => Math.round(x * 10) / 10;

export async function benchStartup(runs = 20): Promise<StartupResult> {
  const bin = path.join(REPO, 'bin', 's3duct.js');
  const single = path.join(REPO, 'build', 's3duct');
  const cases: Record<string, [string, string[]]> = {
    help: [process.execPath, [bin, '--help']],
    node: [process.execPath, ['-e', '0']],
    local: [process.execPath, [bin, 'verify', '--store', `file:${path.join(REPO, 'build', 'bench-empty-store')}`, '--name', 'none']],
    ...(existsSync(single) ? { binary: [single, ['--help']] as [string, string[]] } : {}),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const [cmd, args] of Object.values(cases)) timeOnce(cmd, args); // warm the page cache
  for (let i = 0; i < runs; i++) for (const [k, [cmd, args]] of Object.entries(cases)) times[k]!.push(timeOnce(cmd, args));
  const helpMs = median(times.help!);
  const nodeBaselineMs = median(times.node!);
  return {
    helpMs: round(helpMs),
    helpMinMs: round(Math.min(...times.help!)),
    nodeBaselineMs: round(nodeBaselineMs),
    helpVsNode: Math.round((helpMs / nodeBaselineMs) * 100) / 100,
    localCommandMs: round(median(times.local!)),
    ...(times.binary ? { binaryHelpMs: round(median(times.binary)) } : {}),
    runs,
  };
}
