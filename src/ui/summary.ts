import type { Manifest } from '../format/manifest.js';
import { formatBytes, formatDuration } from '../units.js';

export type SummaryFormat = 'text' | 'json' | 'none';

/** The end-of-run report on stderr; stdout stays reserved for data. */
export function printSummary(format: SummaryFormat, verb: string, m: Manifest, seconds: number, extra: Record<string, unknown> = {}): void {
  if (format === 'none') return;
  const rate = m.stream.size / Math.max(seconds, 0.001);
  if (format === 'json') {
    process.stderr.write(
      JSON.stringify({
        command: verb,
        name: m.name,
        streamId: m.streamId,
        chunks: m.stream.chunks,
        bytes: m.stream.size,
        ...Object.fromEntries(streamDigests(m).map(([key, , hex]) => [key, hex])),
        chain: m.stream.chain,
        encryption: m.encryption.mode,
        storageClass: m.storageClass,
        seconds: Number(seconds.toFixed(3)),
        bytesPerSecond: Math.round(rate),
        ...extra,
      }) + '\n',
    );
    return;
  }
  const lines = [
    `s3duct ${verb}: ${m.name} (${m.streamId})`,
    `  ${formatBytes(m.stream.size)} in ${m.stream.chunks} chunk${m.stream.chunks === 1 ? '' : 's'}, ${formatDuration(seconds)}, ${formatBytes(rate)}/s`,
    `  encryption ${m.encryption.mode}, storage class ${m.storageClass}`,
    ...streamDigests(m).map(([, label, hex]) => `  ${label.padEnd(8)} ${hex}`),
    `  chain    ${m.stream.chain}`,
    ...(typeof extra.id === 'string' && extra.id !== m.name ? [`  id       ${extra.id}`] : []),
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

/** The whole-stream digests as [manifest field, label, hex] (version 1: of the plaintext, as
 *  sha256sum prints them; version 2: over the chunk digests, docs/FORMAT.md 5.1). */
function streamDigests(m: Manifest): Array<[string, string, string]> {
  return m.version === 1
    ? [['sha256', 'sha256', m.stream.sha256], ['sha3_256', 'sha3-256', m.stream.sha3_256]]
    : [['sha256OfChunks', 'sha256 of chunks', m.stream.sha256OfChunks], ['sha3_256OfChunks', 'sha3-256 of chunks', m.stream.sha3_256OfChunks]];
}
