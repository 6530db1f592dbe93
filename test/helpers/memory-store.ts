import { notFoundError } from '../../src/errors.js';
import type { ByteRange, FolderEntry, IncompleteUpload, ObjectInfo, PutOptions, PutResult, Store } from '../../src/store/store.js';

/**
 * An in-memory Store for unit tests of the pipeline's own plumbing (ordering, memory bounds,
 * failure paths); store behaviour itself is tested against real servers. `onPiece` runs for
 * every piece a put takes, before it is taken: tests use it to slow a store down or fail it.
 */
export class MemoryStore implements Store {
  readonly location = 'memory:';
  readonly objects = new Map<string, Buffer>();

  constructor(private readonly onPiece: (key: string, piece: Buffer) => Promise<void> | void = () => {}) {}

  async put(key: string, body: AsyncIterable<Buffer>, opts: PutOptions = {}): Promise<PutResult> {
    const parts: Buffer[] = [];
    for await (const piece of body) {
      await this.onPiece(key, piece);
      parts.push(Buffer.from(piece)); // a copy: the pipeline may reuse the memory it handed us
      opts.onAcked?.(piece.length);
    }
    const all = Buffer.concat(parts);
    await opts.beforeCommit?.();
    this.objects.set(key, all);
    return { size: all.length };
  }

  async create(key: string, body: Buffer): Promise<'created' | 'exists'> {
    if (this.objects.has(key)) return 'exists';
    this.objects.set(key, Buffer.from(body));
    return 'created';
  }

  async get(key: string, range?: ByteRange, into?: Uint8Array): Promise<Buffer> {
    const o = this.objects.get(key);
    if (!o) throw notFoundError(`no object ${key}`);
    const bytes = range ? o.subarray(range.start, range.end) : o;
    if (!into) return Buffer.from(bytes);
    into.set(bytes);
    return Buffer.from(into.buffer, into.byteOffset, bytes.length);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const o = this.objects.get(key);
    return o ? { key, size: o.length, storageClass: 'STANDARD', restore: { state: 'none' } } : null;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const key of [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort()) yield (await this.head(key))!;
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.objects.delete(k);
  }

  async *listFolder(prefix: string): AsyncIterable<FolderEntry> {
    const folders = new Set<string>();
    for (const key of [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort()) {
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) yield { kind: 'object', info: (await this.head(key))! };
      else folders.add(prefix + rest.slice(0, slash + 1));
    }
    for (const f of folders) yield { kind: 'folder', prefix: f };
  }

  async requestRestore(key: string): Promise<void> {
    throw notFoundError(`memory store: nothing is archived (${key})`);
  }

  /** Puts here complete at once: nothing is ever left incomplete. */
  async *listIncomplete(): AsyncIterable<IncompleteUpload> {}
  async abortIncomplete(): Promise<void> {}
  async abortUploads(): Promise<number> {
    return 0;
  }

  now(): number {
    return Date.now();
  }
}
