import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
 * command of this machine (and user). Written whole or not at all (beside it, then linked
 * into place): an empty id would make every state directory that hit a full disk the same
 * holder, each taking the others' locks for its own.
 */
export function stateDirId(): string {
  const file = path.join(stateDir(), 'id');
  const read = () => {
    try {
      const id = readFileSync(file, 'utf8').trim();
      return /^[0-9a-f]{32}$/.test(id) ? id : undefined;
    } catch {
      return undefined;
    }
  };
  const known = read();
  if (known) return known;
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, randomBytes(16).toString('hex') + '\n', { mode: 0o600 });
    try {
      linkSync(tmp, file);
    } catch (e: any) {
      if (e?.code !== 'EEXIST' || read() === undefined) renameSync(tmp, file); // no links here, or a damaged id
    }
  } catch (e: any) {
    throw failure(`cannot write ${file} (resume state lives in this directory; S3DUCT_STATE_DIR moves it): ${e?.code ?? e?.message}`);
  } finally {
    rmSync(tmp, { force: true });
  }
  const id = read();
  if (!id) throw failure(`cannot read back ${file}`);
  return id;
}
