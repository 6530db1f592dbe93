import type { ChunkRecord } from '../format/manifest.js';

/**
 * The resume journal: what an interrupted put had stored, one JSON line per record, written
 * only after the store acknowledged the chunk. The first line says which stream it belongs to
 * and everything that must match for a resume to produce a restorable stream.
 */
export interface JournalHeader extends PutIdentity {
  readonly journal: 's3duct-resume';
  readonly version: 1;
  readonly streamId: string;
  readonly createdAt: string;
  /** An age stream's header, base64 (public: every chunk object begins with it). A resume
   *  unwraps its file key again; older journals lack it, and their puts start over. */
  readonly ageHeader?: string;
}

export interface JournalChunk extends ChunkRecord {
  /** Sealed as the stream's last chunk: a resume must find the input ending right there. */
  readonly last: boolean;
}

export interface Journal {
  readonly header: JournalHeader;
  readonly chunks: readonly JournalChunk[];
}

/** The recorded age header of an interrupted age put, if the journal has one. */
export function journalAgeHeader(h: JournalHeader): Buffer | undefined {
  return h.ageHeader === undefined ? undefined : Buffer.from(h.ageHeader, 'base64');
}

export function encodeHeader(h: JournalHeader): string {
  return JSON.stringify(h) + '\n';
}

export function encodeChunk(c: JournalChunk): string {
  return JSON.stringify(c) + '\n';
}

/**
 * Parses a journal. A torn final line (a crash mid-append) is dropped; records must be
 * contiguous from index 0, anything after a gap is ignored. Returns null when the text is not a
 * journal at all.
 */
export function parseJournal(text: string): Journal | null {
  const lines = text.split('\n');
  let header: JournalHeader;
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    return null;
  }
  if (header?.journal !== 's3duct-resume' || header.version !== 1) return null;
  const chunks: JournalChunk[] = [];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    let c: JournalChunk;
    try {
      c = JSON.parse(line);
    } catch {
      break;
    }
    if (c.index !== chunks.length) break;
    chunks.push(c);
  }
  return { header, chunks };
}

/** Everything that makes a stream: a put may only continue a journal that matches it all. */
export interface PutIdentity {
  readonly location: string;
  readonly prefix: string;
  readonly name: string;
  readonly chunkSize: number;
  readonly encryption: string;
  /** Key fingerprint (never the key); null for unencrypted streams. */
  readonly keyId: string | null;
  /** One stream, one class and one set of tags: lifecycle rules act on them per object. */
  readonly storageClass: string;
  /** Absent in journals written before tags were recorded (not compared then). */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Why the interrupted put cannot be continued by this one, or null if it can. */
export function resumeMismatch(h: JournalHeader, want: PutIdentity): string | null {
  if (h.location !== want.location || h.prefix !== want.prefix || h.name !== want.name)
    return `it was writing to ${h.location} prefix "${h.prefix}" name "${h.name}"`;
  if (h.chunkSize !== want.chunkSize) return `it used --chunk-size ${h.chunkSize} (this put: ${want.chunkSize})`;
  if (h.encryption !== want.encryption) return `it used encryption ${h.encryption} (this put: ${want.encryption})`;
  if (h.keyId !== want.keyId) return h.encryption === 'age' ? 'it was encrypted to other age recipients' : 'it was encrypted with a different key';
  if (h.storageClass !== want.storageClass) return `it used --storage-class ${h.storageClass} (this put: ${want.storageClass})`;
  if (h.tags && !sameTags(h.tags, want.tags ?? {})) return `it used other --tag values (${tagList(h.tags)}; this put: ${tagList(want.tags ?? {})})`;
  return null;
}

function sameTags(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  return tagList(a) === tagList(b);
}

function tagList(t: Readonly<Record<string, string>>): string {
  return Object.keys(t).sort().map((k) => `${k}=${t[k]}`).join(', ') || 'none';
}
