import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';

/** The user's state directory for s3duct: $S3DUCT_STATE_DIR, else $XDG_STATE_HOME/s3duct,
 *  else ~/.local/state/s3duct. Created 0700: journals hold plaintext hashes. */
export function stateDir(): string {
  const dir =
    process.env.S3DUCT_STATE_DIR ||
    path.join(process.env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state'), 's3duct');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** File-name stem for one stream's local state: puts of different streams never share state. */
export function streamStateStem(location: string, prefix: string, name: string): string {
  const id = createHash('sha256').update(JSON.stringify([location, prefix, name])).digest('hex').slice(0, 32);
  return path.join(stateDir(), id);
}
