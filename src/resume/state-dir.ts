import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { failure } from '../errors.js';

/** The user's state directory for s3duct: $S3DUCT_STATE_DIR, else $XDG_STATE_HOME/s3duct,
 *  else ~/.local/state/s3duct. Created 0700: journals hold plaintext hashes. */
export function stateDir(): string {
  const dir =
    process.env.S3DUCT_STATE_DIR ||
    path.join(process.env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state'), 's3duct');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e: any) {
    throw failure(`cannot use the state directory ${dir} (resume journals live there; S3DUCT_STATE_DIR moves it): ${e?.code ?? e?.message}`);
  }
  return dir;
}

/** File-name stem for one stream's local state: puts of different streams never share state. */
export function streamStateStem(location: string, prefix: string, name: string): string {
  const id = createHash('sha256').update(JSON.stringify([location, prefix, name])).digest('hex').slice(0, 32);
  return path.join(stateDir(), id);
}

/**
 * A random id of this state directory, written once: a store lock held under it belongs to a
 * put of this machine (and user), which the state directory's own lock file can rule out.
 */
export function stateDirId(): string {
  const file = path.join(stateDir(), 'id');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const id = randomBytes(16).toString('hex');
    try {
      writeFileSync(file, id + '\n', { mode: 0o600, flag: 'wx' });
      return id;
    } catch {
      return readFileSync(file, 'utf8').trim(); // written meanwhile by another process
    }
  }
}
