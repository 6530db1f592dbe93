import { usageError } from '../errors.js';

/**
 * Where a stream's objects live in a store (docs/FORMAT.md "Object keys"):
 *   <prefix><stream>/manifest, <prefix><stream>/resume, <prefix><stream>/chunks/<index>
 * Reserved segment names keep one stream's objects from ever colliding with another's.
 */
const RESERVED = new Set(['manifest', 'resume', 'chunks', 'lock']);
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._@=+,-]*$/;

export function validateStreamName(name: string): string {
  if (!name) throw usageError('stream name is empty');
  if (name.length > 512) throw usageError('stream name is longer than 512 characters');
  // JSON quoting: a name with a newline or escape sequence must not break the one-line error.
  const shown = JSON.stringify(name);
  for (const seg of name.split('/')) {
    if (!SEGMENT.test(seg))
      throw usageError(`invalid stream name ${shown}: each /-separated part must start with a letter or digit and use only letters, digits and . _ @ = + , -`);
    if (RESERVED.has(seg)) throw usageError(`invalid stream name ${shown}: "${seg}" is reserved`);
    // A part is a directory or file name on a local store: most file systems stop at 255 bytes.
    if (seg.length > 255) throw usageError(`invalid stream name: a /-separated part is longer than 255 characters`);
  }
  return name;
}

/** "" or a prefix ending in "/", so keys join without doubled or missing slashes. */
export function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  // Keys are paths on a local store: ".", ".." or an empty part would point elsewhere.
  if (p && p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..'))
    throw usageError(`invalid --prefix ${JSON.stringify(prefix)}: no empty, "." or ".." parts`);
  if (/[\u0000-\u001f\u007f]/.test(p)) throw usageError('invalid --prefix: it contains control characters');
  return p ? p + '/' : '';
}

/**
 * For a put only (streams already stored under such a prefix stay readable): a stream's own
 * leaves may not be prefix segments, as streams under "x/chunks/" would be taken for chunks of
 * stream x (and deleted with it).
 */
export function checkNewPrefix(prefix: string): void {
  const reserved = prefix.split('/').find((seg) => RESERVED.has(seg));
  if (reserved) throw usageError(`invalid --prefix ${JSON.stringify(prefix.replace(/\/$/, ''))} for a new stream: "${reserved}" is reserved`);
}

export class StreamLayout {
  constructor(
    readonly prefix: string,
    readonly stream: string,
  ) {}

  get dir(): string {
    return `${this.prefix}${this.stream}/`;
  }
  get manifest(): string {
    return `${this.dir}manifest`;
  }
  get resume(): string {
    return `${this.dir}resume`;
  }
  get lock(): string {
    return `${this.dir}lock`;
  }
  get chunksDir(): string {
    return `${this.dir}chunks/`;
  }
  chunk(index: number): string {
    return `${this.chunksDir}${String(index).padStart(8, '0')}`;
  }
}

export const MANIFEST_LEAF = 'manifest';
