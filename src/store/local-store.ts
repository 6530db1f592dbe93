import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { failure, notFoundError, usageError } from '../errors.js';
import { abortUploadsUnder } from './incomplete-uploads.js';
import type { ByteRange, FolderEntry, IncompleteUpload, ObjectInfo, PutOptions, PutResult, Store } from './store.js';

const PARTIAL = '.s3duct-partial-';

/**
 * A directory as a store: for trying s3duct out, for tests, and for backups to a local or
 * mounted disk. Objects are written to a temporary name, fsynced and renamed, so a crash
 * never leaves a torn object under its real key.
 */
export class LocalStore implements Store {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = `file:${root}`;
  }

  private file(key: string): string {
    if (key.split('/').some((s) => s === '..' || s === '.')) throw usageError(`invalid object key ${key}`);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, body: AsyncIterable<Buffer>, opts: PutOptions = {}): Promise<PutResult> {
    const target = this.file(key);
    const tmp = `${target}${PARTIAL}${randomBytes(6).toString('hex')}`;
    // The store's own trouble (ENOSPC, EACCES, a read-only disk) in one line: exit 1, put resumes.
    const io = <T>(p: Promise<T>) =>
      p.catch((e) => {
        throw failure(`${this.location}: cannot write ${key}: ${e?.code ?? e?.message}`);
      });
    const fh = await io(fs.mkdir(path.dirname(target), { recursive: true }).then(() => fs.open(tmp, 'w', 0o600)));
    let size = 0;
    try {
      for await (const piece of body) {
        // A write may take less than asked (a disk nearly full): the rest is written, or fails.
        for (let done = 0; done < piece.length; ) done += (await io(fh.write(piece, done, piece.length - done))).bytesWritten;
        size += piece.length;
        opts.onAcked?.(piece.length);
      }
      await io(fh.sync());
      await io(fh.close());
      await opts.beforeCommit?.();
      await io(fs.rename(tmp, target));
      await syncDir(path.dirname(target));
      return { size };
    } catch (e) {
      await fh.close().catch(() => {});
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  async create(key: string, body: Buffer): Promise<'created' | 'exists'> {
    const target = this.file(key);
    let fh: fs.FileHandle;
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      // O_EXCL: create-if-absent on any file system (a hard link would fail on FAT and others).
      // A reader in the instant before the write sees an empty object: for a lock, "in use".
      fh = await fs.open(target, 'wx', 0o600);
    } catch (e: any) {
      if (e?.code === 'EEXIST') return 'exists';
      throw failure(`${this.location}: cannot write ${key}: ${e?.code ?? e?.message}`);
    }
    try {
      await fh.writeFile(body);
      await fh.sync();
      await fh.close();
    } catch (e: any) {
      await fh.close().catch(() => {});
      await fs.rm(target, { force: true }); // never leave a torn object that blocks the next create
      throw failure(`${this.location}: cannot write ${key}: ${e?.code ?? e?.message}`);
    }
    await syncDir(path.dirname(target));
    return 'created';
  }

  async get(key: string, range?: ByteRange, into?: Uint8Array): Promise<Buffer> {
    const file = this.file(key);
    try {
      if (!range) return await fs.readFile(file);
      if (range.end <= range.start) return Buffer.alloc(0);
      return await readRange(file, range, into);
    } catch (e: any) {
      if (e?.code === 'ENOENT') throw notFoundError(`${this.location}: no object ${key}`);
      throw failure(`${this.location}: cannot read ${key}: ${e?.message ?? e}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const st = await fs.stat(this.file(key));
      if (!st.isFile()) return null;
      return { key, size: st.size, storageClass: 'STANDARD', lastModified: st.mtime, restore: { state: 'none' } };
    } catch (e: any) {
      if (e?.code === 'ENOENT' || e?.code === 'ENOTDIR') return null;
      throw e;
    }
  }

  /** Every file under the directories `prefix` can reach, as store-relative keys, sorted. */
  private async filesUnder(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (e: any) {
        if (e?.code === 'ENOENT') return;
        throw e;
      }
      for (const e of entries) {
        const k = rel + e.name;
        if (e.isDirectory()) {
          if ((k + '/').startsWith(prefix) || prefix.startsWith(k + '/')) await walk(path.join(dir, e.name), k + '/');
        } else if (e.isFile() && k.startsWith(prefix)) keys.push(k);
      }
    };
    await walk(this.root, '');
    return keys.sort();
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const k of await this.filesUnder(prefix)) {
      if (k.includes(PARTIAL)) continue;
      const info = await this.head(k);
      if (info) yield info;
    }
  }

  /** Temporary files of puts that died before their rename (a crash, a kill -9). */
  async *listIncomplete(prefix: string): AsyncIterable<IncompleteUpload> {
    for (const k of await this.filesUnder(prefix)) {
      const i = k.indexOf(PARTIAL);
      if (i < 0) continue;
      const st = await fs.stat(this.file(k)).catch(() => null);
      yield { key: k.slice(0, i), id: k, ...(st ? { started: st.mtime } : {}) };
    }
  }

  async abortIncomplete(u: IncompleteUpload): Promise<void> {
    if (!u.id.startsWith(u.key + PARTIAL)) throw usageError(`not a temporary file of ${u.key}: ${u.id}`);
    await fs.rm(this.file(u.id), { force: true });
  }

  async abortUploads(prefix: string): Promise<number> {
    return abortUploadsUnder(this, prefix);
  }

  async *listFolder(prefix: string): AsyncIterable<FolderEntry> {
    let entries;
    try {
      entries = await fs.readdir(prefix ? this.file(prefix.replace(/\/$/, '')) : this.root, { withFileTypes: true });
    } catch (e: any) {
      // The store itself missing is a mistyped --store (as a missing bucket would be), not an empty store.
      if (!prefix && e?.code === 'ENOENT') throw notFoundError(`${this.location}: no such directory`);
      if (!prefix && e?.code === 'ENOTDIR') throw usageError(`${this.location} is not a directory`);
      if (e?.code === 'ENOENT' || e?.code === 'ENOTDIR') return;
      throw failure(`${this.location}: cannot list ${prefix || '/'}: ${e?.message ?? e}`);
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.isDirectory()) yield { kind: 'folder', prefix: `${prefix}${e.name}/` };
      else if (e.isFile() && !e.name.includes(PARTIAL)) {
        const info = await this.head(prefix + e.name);
        if (info) yield { kind: 'object', info };
      }
    }
  }

  /** Never called: a directory holds nothing archived (every object is STANDARD). */
  async requestRestore(key: string): Promise<void> {
    throw failure(`${this.location}: ${key} is not archived; a local store has nothing to restore`);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) await fs.rm(this.file(k), { force: true });
    // Directories exist only to hold keys: drop the ones this left empty, like S3 "folders".
    const dirs = [...new Set(keys.map((k) => path.dirname(this.file(k))))].sort((a, b) => b.length - a.length);
    for (let dir of dirs) {
      while (dir.startsWith(this.root + path.sep)) {
        try {
          await fs.rmdir(dir);
        } catch {
          break; // not empty (or already gone): its parents are not empty either
        }
        dir = path.dirname(dir);
      }
    }
  }

  now(): number {
    return Date.now();
  }
}

/** The range's bytes (fewer if the file ends first), read straight into one buffer (`into`
 *  if given): a get holds ranges of several MiB, and reading in pieces to concatenate doubled
 *  that. */
async function readRange(file: string, range: ByteRange, into?: Uint8Array): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const length = range.end - range.start;
    const buf = into ? Buffer.from(into.buffer, into.byteOffset, length) : Buffer.allocUnsafe(length);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, range.start + n);
      if (!bytesRead) break;
      n += bytesRead;
    }
    return n === buf.length ? buf : buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

