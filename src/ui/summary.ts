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
        sha256: m.stream.sha256,
        sha3_256: m.stream.sha3_256,
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
    `  sha256   ${m.stream.sha256}`,
    `  sha3-256 ${m.stream.sha3_256}`,
    `  chain    ${m.stream.chain}`,
    ...(typeof extra.id === 'string' && extra.id !== m.name ? [`  id       ${extra.id}`] : []),
  ];
  process.stderr.write(lines.join('\n') + '\n');
}
