import { formatBytes, formatDuration } from '../units.js';

/** Progress on stderr: a bar on a terminal, a line every interval otherwise (cron logs). */
export interface Progress {
  /** Bytes acknowledged by the store (put) or written out (get). */
  advance(bytes: number): void;
  chunkDone(): void;
  stop(): void;
}

export interface ProgressOptions {
  readonly verb: string;
  readonly enabled: boolean;
  readonly totalBytes?: number;
  readonly lineIntervalMs?: number;
}

const NOOP: Progress = { advance() {}, chunkDone() {}, stop() {} };

export async function createProgress(o: ProgressOptions): Promise<Progress> {
  if (!o.enabled) return NOOP;
  const started = Date.now();
  let bytes = 0;
  let chunks = 0;
  const rate = () => formatBytes(bytes / Math.max(0.001, (Date.now() - started) / 1000)) + '/s';
  if (process.stderr.isTTY) {
    const { SingleBar, Presets } = await import('cli-progress');
    const total = o.totalBytes;
    const bar = new SingleBar(
      {
        stream: process.stderr,
        format: total
          ? `${o.verb} |{bar}| {percentage}% {done} of {all} · {rate} · {chunks} chunks · {elapsed}`
          : `${o.verb} {done} · {rate} · {chunks} chunks · {elapsed}`,
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
      },
      Presets.shades_classic,
    );
    const payload = () => ({ done: formatBytes(bytes), all: formatBytes(total ?? 0), rate: rate(), chunks, elapsed: formatDuration((Date.now() - started) / 1000) });
    bar.start(total ?? 1, 0, payload());
    return {
      advance(n) {
        bytes += n;
        bar.update(total ? bytes : 0, payload());
      },
      chunkDone() {
        chunks++;
        bar.update(total ? bytes : 0, payload());
      },
      stop() {
        bar.stop();
      },
    };
  }
  const timer = setInterval(() => {
    const pct = o.totalBytes ? ` (${((100 * bytes) / Math.max(1, o.totalBytes)).toFixed(1)}%)` : '';
    process.stderr.write(`s3duct ${o.verb}: ${formatBytes(bytes)}${pct}, ${chunks} chunks, ${rate()}, ${formatDuration((Date.now() - started) / 1000)}\n`);
  }, o.lineIntervalMs ?? 30_000);
  timer.unref();
  return {
    advance: (n) => void (bytes += n),
    chunkDone: () => void chunks++,
    stop: () => clearInterval(timer),
  };
}
