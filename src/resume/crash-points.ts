/**
 * Deterministic crash points for the resume tests: with S3DUCT_TEST_CRASH=<point>:<chunk>
 * the process kills itself with SIGKILL at that point, exactly as a power cut or `kill -9`
 * would, so the tests can hit windows (e.g. between the store's acknowledgement and the
 * journal write) that an outside kill only hits by luck. Unset, this costs one comparison.
 */
export type CrashPoint = 'after-ack' | 'after-journal' | 'before-manifest' | 'after-manifest' | 'after-unlock';

const spec = process.env.S3DUCT_TEST_CRASH;

export function crashPoint(point: CrashPoint, index = 0): void {
  if (spec && spec === `${point}:${index}`) process.kill(process.pid, 'SIGKILL');
}
