import { warnIfOthersCanRead } from '../ui/secret-file.js';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { conflictError, failure, notFoundError, usageError } from '../errors.js';

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

/** The profile's text, with a warning when others may read it. */
export async function readProfileText(file: string): Promise<string> {
  try {
    const text = await fs.readFile(file, 'utf8');
    warnIfOthersCanRead(file, 'profile');
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
  // The file system's refusals (read-only, full, a path through a file) as one line each.
  const io = <T>(p: Promise<T>): Promise<T> =>
    p.catch((e) => {
      throw failure(`cannot write the profile ${file}: ${e?.code ?? e?.message}`);
    });
  if ((await fs.stat(file).catch(() => null))?.isDirectory()) throw usageError(`the profile path ${file} is a directory; give a file name`);
  const dir = path.dirname(file);
  await io(fs.mkdir(dir, { recursive: true, mode: 0o700 }));
  const exists = await profileExists(file);
  const taken = () => conflictError(`a profile already exists at ${file} (init --reinit changes it; profile import --force replaces it)`);
  if (exists && !replace) throw taken();
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${randomBytes(4).toString('hex')}`);
  const fh = await io(fs.open(tmp, 'wx', 0o600));
  try {
    await io(fh.writeFile(text, 'utf8'));
    await io(fh.sync());
    await fh.close();
    let backup: string | undefined;
    if (exists) {
      backup = `${file}.bak`;
      await io(fs.rm(backup, { force: true }));
      await io(fs.link(file, backup));
      await io(fs.rename(tmp, file));
    } else {
      // A link fails if the name exists: of two inits at once, one wins and the other says so
      // (a rename would let the last one silently replace the first one's new profile).
      await fs.link(tmp, file).catch(async (e) => {
        if (e?.code === 'EEXIST') throw taken();
        if (e?.code !== 'EPERM' && e?.code !== 'ENOTSUP' && e?.code !== 'EOPNOTSUPP') throw failure(`cannot write the profile ${file}: ${e?.code ?? e?.message}`);
        await io(fs.rename(tmp, file)); // a file system without hard links
      });
    }
    const d = await fs.open(dir, 'r');
    await d.sync().catch(() => {}); // some filesystems refuse fsync on a directory; the rename stands
    await d.close();
    return { backup };
  } finally {
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true });
  }
}
