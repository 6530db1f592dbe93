import * as fs from 'node:fs/promises';
import { encodeChunk, encodeHeader, parseJournal, type Journal, type JournalChunk, type JournalHeader } from './journal-format.js';

/** The journal in the user's state directory: appended and fsynced per acknowledged chunk. */
export class LocalJournal {
  private fh: fs.FileHandle | undefined;

  constructor(readonly file: string) {}

  async read(): Promise<Journal | null> {
    try {
      return parseJournal(await fs.readFile(this.file, 'utf8'));
    } catch (e: any) {
      if (e?.code === 'ENOENT') return null;
      throw e;
    }
  }

  /** Starts a journal afresh, or continues `existing` (rewritten without any torn tail). */
  async open(header: JournalHeader, existing: readonly JournalChunk[] = []): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await fs.writeFile(tmp, encodeHeader(header) + existing.map(encodeChunk).join(''), { mode: 0o600 });
    const t = await fs.open(tmp, 'r+');
    await t.sync();
    await t.close();
    await fs.rename(tmp, this.file);
    this.fh = await fs.open(this.file, 'a', 0o600);
  }

  async append(c: JournalChunk): Promise<void> {
    // writeFile writes the whole line (a plain write may stop short on a nearly full disk).
    await this.fh!.writeFile(encodeChunk(c));
    await this.fh!.sync();
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }

  async remove(): Promise<void> {
    await this.close();
    await fs.rm(this.file, { force: true });
  }
}
