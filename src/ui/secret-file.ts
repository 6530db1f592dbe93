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
    const st = statSync(file);
    if (!st.isFile()) return; // a pipe or descriptor (/dev/fd/N, <(…)): no mode to fix
    mode = st.mode & 0o777;
  } catch {
    return;
  }
  if (mode & 0o044) warn(`WARNING: ${what} ${file} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${file}`);
}
