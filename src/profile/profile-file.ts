import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { conflictError, failure, notFoundError } from '../errors.js';
import { warn } from '../ui/log.js';

/** `--profile PATH`, else S3DUCT_PROFILE, else $XDG_CONFIG_HOME/s3duct/profile.json
 *  (XDG_CONFIG_HOME defaulting to ~/.config, the Linux convention). */
export function profilePath(explicit?: string): string {
  if (explicit) return path.resolve(explicit);
  if (process.env.S3DUCT_PROFILE) return path.resolve(process.env.S3DUCT_PROFILE);
  const base = process.env.XDG_CONFIG_HOME || path.join(homedir(), '.config');
  return path.join(base, 's3duct', 'profile.json');
}

/** True when the user named a profile (flag or environment) rather than relying on the default. */
export function profileNamed(explicit?: string): boolean {
  return !!explicit || !!process.env.S3DUCT_PROFILE;
}

export async function profileExists(file: string): Promise<boolean> {
  return !!(await fs.stat(file).catch(() => null));
}

/** The profile's text. Warns (as ssh does for keys) when others may read it: the file alone
 *  lets them guess the password offline. */
export async function readProfileText(file: string): Promise<string> {
  try {
    const text = await fs.readFile(file, 'utf8');
    const mode = (await fs.stat(file)).mode & 0o777;
    if (mode & 0o077) warn(`WARNING: profile ${file} can be read by other users (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${file}`);
    return text;
  } catch (e: any) {
    if (e?.code === 'ENOENT') throw notFoundError(`no profile at ${file}: create one with s3duct init`);
    throw failure(`cannot read profile ${file}: ${e?.code ?? e?.message}`);
  }
}

/**
 * Writes the profile so that a crash leaves either the old file or the new one, never half of
 * either: a 0600 temporary file in the same directory, fsync, rename, fsync of the directory.
 * `replace`: an existing file is first kept as `<file>.bak` (hard link, so the original is
 * never absent); otherwise an existing file is a conflict.
 */
export async function writeProfileText(file: string, text: string, replace: boolean): Promise<{ backup?: string }> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const exists = await profileExists(file);
  if (exists && !replace) throw conflictError(`a profile already exists at ${file} (init --reinit changes it; profile import --force replaces it)`);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${randomBytes(4).toString('hex')}`);
  const fh = await fs.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  let backup: string | undefined;
  if (exists) {
    backup = `${file}.bak`;
    await fs.rm(backup, { force: true });
    await fs.link(file, backup);
  }
  await fs.rename(tmp, file);
  const d = await fs.open(dir, 'r');
  await d.sync().catch(() => {}); // some filesystems refuse fsync on a directory; the rename stands
  await d.close();
  return { backup };
}
