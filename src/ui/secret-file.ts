import { statSync } from 'node:fs';
import { warn } from './log.js';

/**
 * Warns, as ssh does for private keys, when others may read a file holding a secret (a key,
 * an age identity, a profile): that file alone would let them read the backups, or guess the
 * profile's password offline.
 */
export function warnIfOthersCanRead(file: string, what: string): void {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return; // a pipe or fd path (/dev/fd/N): nothing to say
  }
  if (mode & 0o077) warn(`WARNING: ${what} ${file} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${file}`);
}
